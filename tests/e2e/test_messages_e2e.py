"""What the tool prints over the wire: --debug shows calls, never credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SandboxClient

EXAMPLES = str(Path(__file__).parents[2] / "manifests" / "examples")


def test_debug_redacts_session_tokens_secrets_and_signatures(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLEKEY",
        "AWS_SECRET_ACCESS_KEY": "SECRETVALUE123",
        "AWS_SESSION_TOKEN": "SESSIONTOKENVALUE987",
    }
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", EXAMPLES, "--debug",
         "--state", str(tmp_path / "state.json"), "--endpoint-url", clean_sandbox.endpoint_url],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "x-amz-security-token" in result.stderr.lower()  # the calls are logged...
    for secret in ("SESSIONTOKENVALUE987", "SECRETVALUE123"):
        assert secret not in result.stderr  # ...but not what would let someone replay them
    assert "Signature=***" in result.stderr
