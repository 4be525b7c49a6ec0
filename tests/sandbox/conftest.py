"""Fixtures of the sandbox tests on top of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SandboxClient

# The fidelity settings' defaults (reconciler/sandbox/config.py). `clean_sandbox` restores
# only FAST, so a test that changes one of these uses `fidelity_sandbox`, which restores them.
FIDELITY_DEFAULTS: dict[str, Any] = {
    "ongoing_scope": "account",
    "echo": "exact",
    "store_ready_seconds": 0.0,
}


@pytest.fixture
def fidelity_sandbox(clean_sandbox: SandboxClient) -> Iterator[SandboxClient]:
    """`clean_sandbox` with the fidelity settings at their defaults, before and after."""
    clean_sandbox.config(**FIDELITY_DEFAULTS)
    yield clean_sandbox
    clean_sandbox.config(**FIDELITY_DEFAULTS)
