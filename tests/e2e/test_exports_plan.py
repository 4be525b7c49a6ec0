"""Exports in `reconcile plan` (shown, kind export) while apply does not run them yet: apply
says so on every run and creates no CloudWatch Logs import task; a saved plan holds only the
imports; the imports' plan is exactly as without exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import seed
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.e2e.test_apply_e2e import FAST_APPLY, day_manifest

JAN_05 = (1767571200000, 1767657599999)  # 2026-01-05, to the last millisecond
EXPORT = f"""
exports:
  - name: cw-jan-05
    source: {seed.MANAGEMENT_STORE_ARN}
    role_arn: {seed.ROLE_ARN}
    start_event_time: 2026-01-05T00:00:00Z
    end_event_time: 2026-01-05T23:59:59.999Z
"""


def test_plan_shows_exports_and_apply_does_not_run_them(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = day_manifest(tmp_path / "m", {"jan-05": ("east", 5)})
    manifest = Path(folder) / "imports.yaml"
    common = ["--state", str(tmp_path / "s.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    _, without, _ = invoke(["plan", folder, "--json", *common], capsys)
    manifest.write_text(manifest.read_text() + EXPORT)

    code, out, err = invoke(["plan", folder, "--json", *common], capsys)
    assert code == 0 and "1 export(s) to CloudWatch" in err and "does not apply them" in err
    actions = json.loads(out)["actions"]
    assert actions[:-1] == json.loads(without)["actions"]  # the imports' plan is unchanged
    shown = actions[-1]
    # the import of that day is still to start: exporting now would copy a partial set
    assert (shown["name"], shown["kind"], shown["action"]) == ("cw-jan-05", "export", "queued")
    assert shown["blocked_by"] == "jan-05"
    assert shown["identity"] == {"source": seed.MANAGEMENT_STORE_ARN,
                                 "start": "2026-01-05T00:00:00Z",
                                 "end": "2026-01-05T23:59:59.999Z"}  # fmt: skip
    assert shown["destination"].endswith(":log-group:aws/cloudtrail/" +
                                          seed.MANAGEMENT_STORE_ARN.rsplit("/", 1)[1])  # fmt: skip

    code, out, err = invoke(["apply", folder, *common, "--no-color", *FAST_APPLY], capsys)
    assert code == 0, err
    assert "does not apply them" in out + err
    logs = clean_sandbox.client("logs")
    assert logs.describe_import_tasks()["imports"] == []

    # started by hand with the export's identity: the plan adopts it, never a second one
    started = logs.create_import_task(
        importSourceArn=seed.MANAGEMENT_STORE_ARN, importRoleArn=seed.ROLE_ARN,
        importFilter={"startEventTime": JAN_05[0], "endEventTime": JAN_05[1]},
    )["importId"]  # fmt: skip
    code, out, _ = invoke(["plan", folder, "--no-color", *common], capsys)
    assert code == 0
    assert "cw-jan-05" in out and started in out and "adopt" in out
    code, out, _ = invoke(["plan", folder, "--markdown", *common], capsys)
    assert code == 0 and "cw-jan-05" in out

    saved = tmp_path / "p.plan"
    code, _, _ = invoke(["plan", folder, "--out", str(saved), *common], capsys)
    assert code == 0
    assert all(a.get("kind") != "export" for a in json.loads(saved.read_text())["actions"])
    code, _, err = invoke(["apply", "--plan", str(saved), *common, *FAST_APPLY], capsys)
    assert code == 0, err

    code, out, _ = invoke(["validate", folder, "--json"], capsys)
    assert (code, json.loads(out)["exports"], json.loads(out)["imports"]) == (0, 1, 1)


def test_export_preflight_reads_the_store_and_the_role(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "exports.yaml").write_text(
        f"""version: 1
exports:
  - name: cw-no-role
    source: {seed.MANAGEMENT_STORE_ARN}
    role_arn: arn:aws:iam::{seed.ACCOUNT}:role/nobody
    start_event_time: 2026-01-05T00:00:00Z
  - name: cw-too-old
    source: {seed.WEST_STORE_ARN}
    role_arn: {seed.ROLE_ARN}
    start_event_time: 2022-06-01T00:00:00Z
    end_event_time: 2022-06-30T00:00:00Z
"""
    )
    common = ["--state", str(tmp_path / "s.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    code, out, _ = invoke(["plan", str(folder), "--json", "--detailed-exitcode", *common], capsys)
    assert code == 3  # attention
    found = {a["name"]: a for a in json.loads(out)["actions"]}
    assert found["cw-no-role"]["action"] == "attention"
    assert [f["code"] for f in found["cw-no-role"]["findings"]] == ["role-not-found"]
    assert {f["code"] for f in found["cw-too-old"]["findings"]} >= {"export-before-2023"}
    code, _, _ = invoke(["plan", str(folder), "--no-preflight", "--json", *common], capsys)
    assert code == 0
