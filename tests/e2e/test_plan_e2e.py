"""`reconcile plan` and `reconcile show` against the served sandbox, through real boto3 calls."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.accounts import Connections
from reconciler.plan.make import PlanRequest, make_plan
from reconciler.sandbox import seed
from reconciler.sandbox.worlds import managed_world
from reconciler.state.local import LocalStateStore
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.sandbox.helpers import wait_finished

EXAMPLES = str(Path(__file__).parents[2] / "manifests" / "examples")


def plan_json(
    sandbox: SandboxClient, state: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    code, out, err = invoke(
        [
            "plan",
            EXAMPLES,
            "--json",
            "--state",
            str(state),
            "--endpoint-url",
            sandbox.endpoint_url,
            *extra,
        ],
        capsys,
    )
    assert code == 0, err
    return dict(json.loads(out))


def actions_by_name(document: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["action"] for a in document["actions"]}


def test_first_plan_creates_one_per_account_and_queues_the_rest(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    document = plan_json(clean_sandbox, state, capsys)
    assert actions_by_name(document) == {
        "demo-account-2026-01-07": "create",
        "demo-organization-first-days": "queued",
        "demo-account-2026-01-05": "queued",
        "demo-account-2026-01-06": "queued",
    }
    assert document["summary"]["create"] == 1
    by_region = plan_json(clean_sandbox, state, capsys, "--queue-scope", "region")
    assert actions_by_name(by_region)["demo-organization-first-days"] == "create"
    assert not state.exists(), "plan must never write state"
    assert not (tmp_path / "state.json.lock").exists(), "plan takes no lock"


def test_import_started_elsewhere_is_adopted_not_created(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = clean_sandbox.client("cloudtrail")
    started = client.start_import(
        Destinations=[seed.MANAGEMENT_STORE_ARN],
        ImportSource={
            "S3": {
                "S3LocationUri": seed.SINGLE_ACCOUNT_URI,
                "S3BucketRegion": seed.BUCKET_REGION,
                "S3BucketAccessRoleArn": seed.ROLE_ARN,
            }
        },
        StartEventTime=datetime(2026, 1, 5, tzinfo=UTC),
        EndEventTime=datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC),
    )
    wait_finished(client, started["ImportId"])
    document = plan_json(clean_sandbox, tmp_path / "state.json", capsys)
    adopted = next(a for a in document["actions"] if a["name"] == "demo-account-2026-01-05")
    assert adopted["action"] == "adopt"
    assert adopted["import_id"] == started["ImportId"]
    assert actions_by_name(document)["demo-account-2026-01-07"] == "create"


def test_running_import_blocks_its_region(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_sandbox.config(speed=1.0, init_seconds=30.0)  # keep it running for the test
    client = clean_sandbox.client("cloudtrail")
    started = client.start_import(
        Destinations=[seed.MANAGEMENT_STORE_ARN],
        ImportSource={
            "S3": {
                "S3LocationUri": "s3://reconcile-demo-trail/AWSLogs/210987654321/",
                "S3BucketRegion": seed.BUCKET_REGION,
                "S3BucketAccessRoleArn": seed.ROLE_ARN,
            }
        },
    )
    document = plan_json(clean_sandbox, tmp_path / "state.json", capsys)
    east = [a for a in document["actions"] if a["region"] == "us-east-1"]
    assert {a["action"] for a in east} == {"queued"}
    assert {a["blocked_by"] for a in east} == {started["ImportId"]}
    assert [u["import_id"] for u in document["unmanaged"]] == [started["ImportId"]]


def test_detailed_exitcode_out_and_show(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, saved = tmp_path / "state.json", tmp_path / "plans" / "pr.plan"
    code, out, _ = invoke(
        ["plan", EXAMPLES, "--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url,
         "--detailed-exitcode", "--out", str(saved), "--no-color"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "Plan: 1 to create, 3 queued." in out
    document = json.loads(saved.read_text())
    assert {"format_version", "basis", "summary", "actions", "unmanaged", "specs"} <= set(document)
    assert len(document["specs"]) == 4
    code, shown, _ = invoke(["show", str(saved), "--no-color"], capsys)
    assert code == 0
    printed = [line for line in out.splitlines() if not line.startswith("Saved the plan")]
    assert shown.splitlines() == printed  # the saved plan renders as it was printed
    code, shown_json, _ = invoke(["show", str(saved), "--json"], capsys)
    assert json.loads(shown_json)["actions"] == document["actions"]
    code, markdown, _ = invoke(["show", str(saved), "--markdown"], capsys)
    assert code == 0 and "demo-account-2026-01-05" in markdown


def test_unknown_target_is_a_usage_error(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        ["plan", EXAMPLES, "--target", "nope", "--state", str(tmp_path / "s.json"),
         "--endpoint-url", clean_sandbox.endpoint_url],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert "--target nope: no manifest entry" in err


def test_invalid_manifests_stop_plan_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\n")
    code, _, err = invoke(["plan", str(bad), "--endpoint-url", "http://127.0.0.1:9"], capsys)
    assert code == 1
    assert "bad.yaml:1:10: version: must be 1" in err


def test_completed_managed_imports_cost_only_list_calls(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """State that holds final details: plan makes ListImports calls and nothing else."""
    paths, state_path = managed_world(clean_sandbox.endpoint_url, tmp_path, count=1500)
    connections = Connections(region="us-east-1", endpoint_url=clean_sandbox.endpoint_url)
    saved = make_plan(PlanRequest(paths=(paths,)), LocalStateStore(state_path).read(), connections)
    assert saved.plan.summary()["noop"] == 1500
    assert connections.calls() == {"ListImports": 2}


def test_aws_out_of_reach_is_an_error_not_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No place could be listed (no credentials here): exit 1, for plan and apply alike."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    state = str(tmp_path / "s.json")
    for command in (["plan"], ["apply", "--auto-approve"]):
        code, _, err = invoke([*command, EXAMPLES, "--state", state], capsys)
        assert code == 1, err
        assert "no import could be listed" in err and "credentials" in err


def test_an_accounts_queue_scope_gives_each_region_its_own_queue(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`queue_scope: region` under `accounts:` (no role or profile: the run's own
    credentials) says the same as --queue-scope region, for that account alone."""
    folder = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, folder)
    (folder / "accounts.yaml").write_text(
        'version: 1\naccounts:\n  "123456789012": {queue_scope: region}\n'
    )
    code, out, err = invoke(
        ["plan", str(folder), "--json", "--state", str(tmp_path / "s.json"),
         "--endpoint-url", clean_sandbox.endpoint_url],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    actions = actions_by_name(json.loads(out))
    assert actions["demo-account-2026-01-07"] == actions["demo-organization-first-days"] == "create"
