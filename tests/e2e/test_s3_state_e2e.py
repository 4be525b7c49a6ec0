"""plan, apply and the state commands with `--state s3://...` on the sandbox's S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

EXAMPLES = str(Path(__file__).parents[2] / "manifests" / "examples")


def test_state_in_s3_through_the_cli(
    clean_sandbox: SandboxClient, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = clean_sandbox.client("s3")
    s3.create_bucket(Bucket="team-reconcile-state")
    location = "s3://team-reconcile-state/prod/state.json"
    common = ["--state", location, "--endpoint-url", clean_sandbox.endpoint_url, "--no-color"]
    code, _, err = invoke(["plan", EXAMPLES, *common], capsys)
    assert code == 0, err
    assert "Contents" not in s3.list_objects_v2(Bucket="team-reconcile-state")  # plan wrote nothing
    code, _, err = invoke(
        ["apply", EXAMPLES, "--auto-approve", "--wait", "--poll-interval", "0.05", *common], capsys
    )
    assert code == 0, err
    document = json.loads(
        s3.get_object(Bucket="team-reconcile-state", Key="prod/state.json")["Body"].read()
    )
    assert len(document["imports"]) == 4
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="team-reconcile-state")["Contents"]}
    assert "prod/state.json.lock" not in keys  # released
    code, out, _ = invoke(["state", "list", "--json", *common], capsys)
    assert code == 0 and len(json.loads(out)) == 4
    code, out, _ = invoke(["plan", EXAMPLES, "--detailed-exitcode", *common], capsys)
    assert code == 0 and "Plan: 4 unchanged." in out


def test_s3_state_without_key_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["state", "list", "--state", "s3://only-a-bucket"], capsys)
    assert code == 1 and "Traceback" not in err
