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


def test_apply_wait_off_a_terminal_logs_each_event_and_ends_with_statuses(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """A CI log: one line per start, progress lines, one final line per import with its
    status and counts, and a summary by status (not silence, then one line)."""
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", EXAMPLES, "--auto-approve", "--wait",
         "--poll-interval", "0.2", "--state", str(tmp_path / "state.json"),
         "--endpoint-url", clean_sandbox.endpoint_url],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    names = ["demo-account-2026-01-05", "demo-account-2026-01-06", "demo-account-2026-01-07",
             "demo-organization-first-days"]  # fmt: skip
    for name in names:
        assert any(line.startswith(f"{name}: started ") for line in lines)
        finals = [line for line in lines if line.startswith(f"{name}: COMPLETED ")]
        assert len(finals) == 1 and " files, " in finals[0] and " events" in finals[0]
    assert lines[-1] == "Imports followed: 4 COMPLETED."
    assert not any(line.endswith(":") or ": :" in line for line in lines)


def test_a_saved_plan_says_what_changed_in_the_manifests_and_can_refuse(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: object
) -> None:
    import shutil

    from tests.cli_helpers import invoke

    manifests = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, manifests)
    common = ["--state", str(tmp_path / "state.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    plan_file = str(tmp_path / "pr.plan")
    code, _, err = invoke(["plan", str(manifests), "--out", plan_file, *common], capsys)  # type: ignore[arg-type]
    assert code == 0, err
    single = manifests / "single-account.yaml"
    single.write_text(single.read_text().replace("2026-01-06T23:59:59Z", "2026-01-06T12:00:00Z"))
    code, out, err = invoke(  # type: ignore[arg-type]
        ["apply", "--plan", plan_file, "--auto-approve", "--refuse-if-changed", *common], capsys
    )
    assert code == 1 and "--refuse-if-changed refuses it" in err
    assert "demo-account-2026-01-06: identity.end" in err
    assert clean_sandbox.client("cloudtrail").list_imports()["Imports"] == []
    code, out, err = invoke(["apply", "--plan", plan_file, "--auto-approve", *common], capsys)  # type: ignore[arg-type]
    assert code == 0, err
    assert "Note: the manifests changed since this plan was made" in out + err
    assert "demo-account-2026-01-06: identity.end" in out + err


def test_status_shows_when_aws_last_updated_an_import_and_target_lists_no_managed_import(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: object
) -> None:
    import json

    from tests.cli_helpers import invoke

    common = ["--state", str(tmp_path / "state.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    code, _, err = invoke(  # type: ignore[arg-type]
        ["apply", EXAMPLES, "--auto-approve", "--wait", "--poll-interval", "0.2", *common], capsys
    )
    assert code == 0, err
    code, out, err = invoke(["status", "--json", "--manifests", EXAMPLES, *common], capsys)  # type: ignore[arg-type]
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 4
    for row in rows:
        lake = clean_sandbox.client("cloudtrail", row["region"])
        found = lake.get_import(ImportId=row["import_id"])
        assert row["updated"] == found["UpdatedTimestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = invoke(  # type: ignore[arg-type]
        ["plan", EXAMPLES, "--json", "--target", "demo-account-2026-01-05", *common], capsys
    )
    assert code == 0 and json.loads(out)["unmanaged"] == []
