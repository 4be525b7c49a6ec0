"""Fixtures for the fault tests: the session sandbox seen through `harness.Lake`.

Every test here runs `reconcile apply` as a subprocess (so it can be SIGKILLed) against the
in-process session sandbox, from a freshly seeded world, and leaves the sandbox reset to the
session's fast, fault-free settings for whoever comes next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SandboxClient
from tests.faults.harness import CRASH_SPEEDS, NO_FAULTS, Lake


@pytest.fixture
def lake(clean_sandbox: SandboxClient) -> Iterator[Lake]:
    world = Lake(clean_sandbox.endpoint_url)
    world.config(**NO_FAULTS, **CRASH_SPEEDS)  # clean_sandbox has just reset and seeded it
    try:
        yield world
    finally:
        clean_sandbox.reset(seed=True)  # no faults, FAST speeds, no imports left behind


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.json"
