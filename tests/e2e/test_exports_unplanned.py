"""Exports are checked but not yet planned: plan and apply say so on every run, create no
CloudWatch Logs import task, and leave the imports' plan exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import seed
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.e2e.test_apply_e2e import FAST_APPLY, day_manifest

EXPORT = f"""
exports:
  - name: cw-jan-05
    source: {seed.MANAGEMENT_STORE_ARN}
    role_arn: {seed.ROLE_ARN}
    start_event_time: 2026-01-05T00:00:00Z
    end_event_time: 2026-01-05T23:59:59.999Z
"""


def test_plan_and_apply_say_the_exports_are_not_planned(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = day_manifest(tmp_path / "m", {"jan-05": ("east", 5)})
    manifest = Path(folder) / "imports.yaml"
    without = invoke(["plan", folder, "--json", "--state", str(tmp_path / "s.json"),
                      "--endpoint-url", clean_sandbox.endpoint_url], capsys)  # fmt: skip
    manifest.write_text(manifest.read_text() + EXPORT)
    common = ["--state", str(tmp_path / "s.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    code, out, err = invoke(["plan", folder, "--json", *common], capsys)
    assert code == 0 and "1 export(s) to CloudWatch" in err and "cw-jan-05" in err
    assert "nothing is created for them" in err
    assert json.loads(out)["actions"] == json.loads(without[1])["actions"]  # imports unchanged

    code, out, err = invoke(["apply", folder, *common, "--no-color", *FAST_APPLY], capsys)
    assert code == 0, err
    assert "1 export(s) to CloudWatch" in out + err
    assert clean_sandbox.client("logs").describe_import_tasks()["imports"] == []

    code, out, _ = invoke(["validate", folder, "--json"], capsys)
    assert (code, json.loads(out)["exports"], json.loads(out)["imports"]) == (0, 1, 1)
