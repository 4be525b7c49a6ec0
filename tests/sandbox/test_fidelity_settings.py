"""The fidelity settings themselves: checked when set, and passed by `sandbox serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import SandboxClient


@pytest.mark.parametrize(
    "change",
    [
        {"ongoing_scope": "planet"},
        {"echo": "loose"},
        {"store_ready_seconds": -1},
        {"speed": 0, "echo": "normalised"},  # one bad value: nothing at all is applied
    ],
)
def test_bad_values_are_refused_and_change_nothing(
    fidelity_sandbox: SandboxClient, change: dict[str, Any]
) -> None:
    before = fidelity_sandbox.hook("config")
    with pytest.raises(urllib.error.HTTPError) as refused:
        fidelity_sandbox.config(**change)
    assert refused.value.code == 400
    assert fidelity_sandbox.hook("config") == before


def test_serve_passes_the_fidelity_options() -> None:
    command = [
        sys.executable, "-m", "reconciler.cli.sandbox_cmds", "serve", "--port", "0",
        "--ongoing-scope", "region", "--echo", "normalised", "--store-ready-seconds", "2.5",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert ready.startswith("Sandbox ready at "), ready
        url = ready.split(" at ", 1)[1].strip() + "/_reconcile/config"
        with urllib.request.urlopen(url, timeout=10) as response:
            settings = json.load(response)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert (settings["ongoing_scope"], settings["echo"], settings["store_ready_seconds"]) == (
        "region",
        "normalised",
        2.5,
    )
