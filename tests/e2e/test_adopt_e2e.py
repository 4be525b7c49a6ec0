"""`reconcile adopt` against the sandbox: imports made directly through boto3 become a manifest
that validates, plans as adopt only (never create), applies, and then plans as in sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import seed
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.sandbox.helpers import source, wait_finished

BAD_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/"
    "123456789012_CloudTrail_us-east-1_20260105T0010Z_BADBADBADBADBADB.json.gz"
)


def start_and_wait(client: Any, store: str, start: datetime, end: datetime) -> dict[str, Any]:
    started = client.start_import(
        Destinations=[store],
        ImportSource=source(seed.SINGLE_ACCOUNT_URI),
        StartEventTime=start,
        EndEventTime=end,
    )
    return wait_finished(client, started["ImportId"])


def hour(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def endpoint(sandbox: SandboxClient) -> list[str]:
    return ["--endpoint-url", sandbox.endpoint_url]


def plan_actions(
    sandbox: SandboxClient, manifest: Path, state: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, dict[str, Any]]:
    code, out, err = invoke(
        ["plan", str(manifest), "--json", "--state", str(state), *endpoint(sandbox)],
        capsys,
    )
    assert code == 0, err
    return {action["name"]: action for action in json.loads(out)["actions"]}


def test_adopt_then_plan_adopts_everything_and_creates_nothing(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    east = clean_sandbox.client("cloudtrail", "us-east-1")
    west = clean_sandbox.client("cloudtrail", "us-west-2")
    clean_sandbox.client("s3").put_object(
        Bucket=seed.BUCKET, Key=BAD_KEY, Body=b"plain text, not gzip"
    )
    east_store, west_store = seed.MANAGEMENT_STORE_ARN, seed.WEST_STORE_ARN
    failed = start_and_wait(east, east_store, hour(5, 0), hour(5, 0, 59, 59))
    first = start_and_wait(east, east_store, hour(6, 0), hour(6, 1, 59, 59))
    twin = start_and_wait(east, east_store, hour(6, 0), hour(6, 1, 59, 59))  # same identity
    western = start_and_wait(west, west_store, hour(7, 0), hour(7, 0, 59, 59))
    assert failed["ImportStatus"] == "FAILED"
    assert {first["ImportStatus"], twin["ImportStatus"], western["ImportStatus"]} == {"COMPLETED"}

    manifest, state = tmp_path / "adopted.yaml", tmp_path / "state.json"
    endpoint = ["--endpoint-url", clean_sandbox.endpoint_url]
    regions = ["--region", "us-east-1", "--region", "us-west-2"]
    code, out, err = invoke(
        ["adopt", "--out", str(manifest), *endpoint, *regions, "--state", str(state)],
        capsys,
    )
    assert code == 0, err
    assert out == ""
    assert "Wrote 4 entries for 4 imports in us-east-1, us-west-2 to " in err
    assert "should show adopt, never create" in err
    text = manifest.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert "\nversion: 1\n" in text
    for found in (failed, first, twin, western):
        assert f"import_id: {found['ImportId']}" in text
    assert f"adopted-reconcile-demo-west-2026-01-07-{western['ImportId'][:8]}" in text
    assert text.count("allow_overlap: true") == 1  # on the twin, the later of the two
    assert text.index(f"import_id: {twin['ImportId']}") < text.index("allow_overlap: true")
    assert "retry: {max_attempts: 1}" in text  # the FAILED one is not retried unasked

    code, out, err = invoke(["validate", str(manifest)], capsys)
    assert code == 0, err

    before = plan_actions(clean_sandbox, manifest, state, capsys)
    assert {a["action"] for a in before.values()} == {"adopt"}
    assert sorted(a["import_id"] for a in before.values()) == sorted(
        f["ImportId"] for f in (failed, first, twin, western)
    )

    code, out, err = invoke(
        ["apply", str(manifest), "--auto-approve", "--state", str(state), *endpoint], capsys
    )
    assert code == 0, err
    after = plan_actions(clean_sandbox, manifest, state, capsys)
    by_id = {a["import_id"]: a["action"] for a in after.values()}
    assert by_id[failed["ImportId"]] == "attention"
    assert {by_id[f["ImportId"]] for f in (first, twin, western)} == {"noop"}

    # A second adopt skips what state now manages, and refuses to overwrite without --force.
    code, out, err = invoke(["adopt", "--out", str(manifest), *endpoint], capsys)
    assert code == 1 and "--force" in err
    code, out, err = invoke(["adopt", *endpoint, "--state", str(state)], capsys)
    assert code == 0, err
    assert "imports: []" in out
    assert "Wrote 0 entries for 3 imports in us-east-1" in err
