"""Preflight against the sandbox: every finding provoked through real boto3 calls, the
estimate exact for the files in range, and the listing confined to the range's prefixes."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.accounts import Connections
from reconciler.plan.make import PlanRequest, make_plan
from reconciler.sandbox import seed
from reconciler.state.document import StateDocument
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

ACCOUNT = seed.ACCOUNT
REGION = "us-east-1"
BUCKET = "preflight-logs"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/preflight-import"
CLOUDTRAIL_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DAY = datetime(2026, 3, 10, tzinfo=UTC)


def log_key(moment: datetime, index: int = 0, region: str = REGION, prefix: str = "") -> str:
    return (
        f"{prefix}AWSLogs/{ACCOUNT}/CloudTrail/{region}/{moment:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{region}_{moment:%Y%m%dT%H%M}Z_{index:016d}.json.gz"
    )


def log_body(moment: datetime, index: int) -> bytes:
    record = {
        "eventID": f"{moment:%Y%m%d%H%M}-{index}",
        "eventTime": f"{moment:%Y-%m-%dT%H:%M:%SZ}",
    }
    return gzip.compress(json.dumps({"Records": [record]}).encode(), mtime=0)


class World:
    """A bucket of hourly logs, a role and a store in the sandbox; one entry's manifest."""

    def __init__(self, sandbox: SandboxClient, tmp_path: Path) -> None:
        self.sandbox = sandbox
        self.tmp_path = tmp_path
        self.s3 = sandbox.client("s3", REGION)
        self.iam = sandbox.client("iam", REGION)
        self.lake = sandbox.client("cloudtrail", REGION)
        self.sizes: dict[str, int] = {}

    def bucket(self, *, enforced: bool = True, region: str = REGION) -> None:
        kwargs: dict[str, Any] = {"Bucket": BUCKET}
        if enforced:
            kwargs["ObjectOwnership"] = "BucketOwnerEnforced"
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self.sandbox.client("s3", region).create_bucket(**kwargs)

    def logs(self, start: datetime, hours: int, storage_class: str = "STANDARD") -> None:
        for hour in range(hours):
            moment = start + timedelta(hours=hour)
            key, body = log_key(moment), log_body(moment, hour)
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, StorageClass=storage_class)
            self.sizes[key] = len(body)

    def role(self, trust: dict[str, Any] | None = None) -> None:
        self.iam.create_role(
            RoleName=ROLE.rsplit("/", 1)[-1],
            AssumeRolePolicyDocument=json.dumps(trust or CLOUDTRAIL_TRUST),
        )

    def store(self, **params: Any) -> str:
        found = self.lake.create_event_data_store(
            Name=params.pop("Name", "preflight-store"), TerminationProtectionEnabled=False, **params
        )
        return str(found["EventDataStoreArn"])

    def healthy(self, **store: Any) -> str:
        self.bucket()
        self.logs(DAY, 24)
        self.role()
        return self.store(StartIngestion=False, **store)

    def manifest(self, destination: str, **entry: Any) -> str:
        body = {
            "name": "preflighted",
            "destination": destination,
            "source": {"uri": f"s3://{BUCKET}", "bucket_region": REGION, "role_arn": ROLE},
            "start_event_time": "2026-03-10T00:00:00Z",
            "end_event_time": "2026-03-10T23:59:59Z",
        }
        for key, value in entry.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        path = self.tmp_path / "manifests" / "preflight.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"version": 1, "imports": [body]}))
        return str(path.parent)

    def plan(
        self, capsys: pytest.CaptureFixture[str], manifests: str, *extra: str
    ) -> tuple[int, dict[str, Any]]:
        code, out, err = invoke(
            ["plan", manifests, "--json", "--detailed-exitcode",
             "--state", str(self.tmp_path / "state.json"),
             "--endpoint-url", self.sandbox.endpoint_url, *extra],
            capsys,
        )  # fmt: skip
        assert code in (0, 2, 3), err
        return code, json.loads(out)


@pytest.fixture
def world(clean_sandbox: SandboxClient, tmp_path: Path) -> World:
    return World(clean_sandbox, tmp_path)


def codes(document: dict[str, Any]) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in document["actions"][0]["findings"]}


def action(document: dict[str, Any]) -> str:
    return str(document["actions"][0]["action"])


def test_a_healthy_import_has_no_findings_and_an_exact_estimate(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = world.manifest(world.healthy())
    code, document = world.plan(capsys, manifests)
    assert (code, action(document), codes(document)) == (2, "create", {})
    estimate = document["actions"][0]["estimate"]
    size = sum(world.sizes.values())
    assert estimate["files"] == 24 and estimate["bytes"] == size
    assert estimate["uncompressed_bytes"] == size * 10
    # The store's billing mode sets the default price (EXTENDABLE_RETENTION_PRICING: 0.75)
    assert estimate["cost_usd"] == pytest.approx(size * 10 / 2**30 * 0.75, abs=1e-6)
    assert document["summary"]["estimate"] == estimate


def test_a_store_that_ingests_live_is_an_error_and_once_stopped_a_warning(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.bucket()
    world.logs(DAY, 24)
    world.role()
    live = world.store(Name="live")  # ENABLED now: it ingests from today on
    code, document = world.plan(capsys, world.manifest(live, end_event_time=None))
    assert (code, action(document)) == (3, "attention")
    assert codes(document)["store-ingests-live"] == "error"
    fix = document["actions"][0]["findings"][0]["fix"]
    assert "end_event_time" in fix and "delivery time" in fix
    # Following the fix (the end it names) clears the finding.
    boundary = fix.split("Set end_event_time to ", 1)[1].split(" ", 1)[0]
    _, document = world.plan(capsys, world.manifest(live, end_event_time=boundary))
    assert "store-ingests-live" not in codes(document)
    # A range that ends before the store was created duplicates nothing.
    _, document = world.plan(capsys, world.manifest(live))
    assert "store-ingests-live" not in codes(document)
    stopped = world.store(Name="stopped", StartIngestion=False)
    _, document = world.plan(capsys, world.manifest(stopped, end_event_time=None))
    assert (action(document), codes(document)["store-ingests-live"]) == ("create", "warning")


def test_retention_shorter_than_the_range_is_an_error(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(RetentionPeriod=30)
    code, document = world.plan(capsys, world.manifest(destination))
    assert (code, codes(document)) == (3, {"retention-drops-events": "error"})
    assert "whole range" in document["actions"][0]["findings"][0]["message"]
    # The fix names the oldest start the store keeps; a range from there is fine.
    fix = document["actions"][0]["findings"][0]["fix"]
    oldest = fix.split("Set start_event_time to ", 1)[1].split(" ", 1)[0]
    manifests = world.manifest(destination, start_event_time=oldest, end_event_time=None)
    _, document = world.plan(capsys, manifests)
    assert "retention-drops-events" not in codes(document)


@pytest.mark.parametrize("status", ["CREATED", "PENDING_DELETION", "STOPPING_INGESTION"])
def test_a_store_whose_status_forbids_imports_is_not_usable(
    world: World, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    destination = world.healthy()
    world.sandbox.hook("store-status", {"arn": destination, "status": status})
    code, document = world.plan(capsys, world.manifest(destination))
    assert (code, codes(document)) == (3, {"store-not-usable": "error"})
    assert status in document["actions"][0]["findings"][0]["message"]


def test_an_organization_store_from_a_member_account(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(OrganizationEnabled=True)
    world.sandbox.hook("organization", {"management": "111122223333", "members": [ACCOUNT]})
    code, document = world.plan(capsys, world.manifest(destination))
    assert (code, codes(document)) == (3, {"organization-store-member-account": "error"})
    assert "111122223333" in document["actions"][0]["findings"][0]["fix"]


def test_an_organization_store_from_the_management_account_is_fine(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(OrganizationEnabled=True)
    world.sandbox.hook("organization", {"management": ACCOUNT})
    _, document = world.plan(capsys, world.manifest(destination))
    assert codes(document) == {}


def test_a_kms_key_is_named_for_the_role(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0e0d0c-0b0a-0908-0706-050403020100"
    destination = world.healthy(KmsKeyId=key)
    code, document = world.plan(capsys, world.manifest(destination))
    assert (code, codes(document)) == (2, {"store-kms-key": "info"})


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("acl", {"bucket-acls-enabled": "error"}),
        ("missing", {"bucket-not-found": "error"}),
        ("elsewhere", {"bucket-region-mismatch": "error"}),
    ],
)
def test_bucket_findings(
    world: World, capsys: pytest.CaptureFixture[str], setup: str, expected: dict[str, str]
) -> None:
    world.role()
    destination = world.store(StartIngestion=False)
    if setup == "acl":
        world.bucket(enforced=False)
        world.logs(DAY, 2)
    elif setup == "elsewhere":
        world.bucket(region="eu-west-1")
    code, document = world.plan(capsys, world.manifest(destination))
    found = codes(document)
    found.pop("no-log-files-in-range", None)  # the empty buckets have no logs either
    assert (code, found) == (3, expected)
    if setup == "acl":  # the fix is the AWS CLI call; its boto3 twin clears the finding
        fix = document["actions"][0]["findings"][0]["fix"]
        assert fix.startswith(f"aws s3api put-bucket-ownership-controls --bucket {BUCKET} ")
        world.s3.put_bucket_ownership_controls(
            Bucket=BUCKET,
            OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        )
        assert codes(world.plan(capsys, world.manifest(destination))[1]) == {}


def test_no_log_files_in_range_and_archived_ones_are_warnings(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy()
    _, document = world.plan(
        capsys,
        world.manifest(
            destination,
            start_event_time="2026-03-11T00:00:00Z",
            end_event_time="2026-03-11T23:59:59Z",
        ),
    )
    assert (action(document), codes(document)) == ("create", {"no-log-files-in-range": "warning"})
    world.logs(DAY + timedelta(days=1), 3, storage_class="GLACIER")
    _, document = world.plan(
        capsys,
        world.manifest(
            destination,
            start_event_time="2026-03-11T00:00:00Z",
            end_event_time="2026-03-11T23:59:59Z",
        ),
    )
    assert (action(document), codes(document)) == ("create", {"objects-need-restore": "warning"})
    assert "3 of 3" in document["actions"][0]["findings"][0]["message"]


def test_the_sandbox_fails_archived_files_as_aws_does(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """What the warning predicts: the import fails on those files until they are restored."""
    destination = world.healthy()
    world.logs(DAY + timedelta(days=1), 1, storage_class="DEEP_ARCHIVE")
    started = world.lake.start_import(
        Destinations=[destination],
        ImportSource={"S3": {"S3LocationUri": f"s3://{BUCKET}", "S3BucketRegion": REGION,
                             "S3BucketAccessRoleArn": ROLE}},
        StartEventTime=DAY + timedelta(days=1),
        EndEventTime=DAY + timedelta(days=1, hours=1),
    )  # fmt: skip
    from tests.sandbox.helpers import wait_finished

    finished = wait_finished(world.lake, started["ImportId"])
    assert finished["ImportStatus"] == "FAILED"
    failures = world.lake.list_import_failures(ImportId=started["ImportId"])["Failures"]
    assert [f["ErrorType"] for f in failures] == ["InvalidObjectState"]


@pytest.mark.parametrize(
    ("trust", "expected"),
    [
        (None, {"role-not-found": "error"}),
        ("ec2", {"role-not-trusted": "error"}),
        ("other-store", {"role-not-trusted": "error"}),
    ],
)
def test_role_findings(
    world: World, capsys: pytest.CaptureFixture[str], trust: str | None, expected: dict[str, str]
) -> None:
    world.bucket()
    world.logs(DAY, 2)
    destination = world.store(StartIngestion=False)
    if trust == "ec2":
        document = json.loads(json.dumps(CLOUDTRAIL_TRUST).replace("cloudtrail", "ec2"))
        world.role(document)
    elif trust == "other-store":
        document = json.loads(json.dumps(CLOUDTRAIL_TRUST))
        other = destination.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        document["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceArn": other}}
        world.role(document)
    code, document = world.plan(capsys, world.manifest(destination))
    assert (code, codes(document)) == (3, expected)


def test_ignore_lets_an_error_through_as_a_warning(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(RetentionPeriod=30)
    manifests = world.manifest(destination, preflight={"ignore": ["retention-drops-events"]})
    code, document = world.plan(capsys, manifests)
    assert (code, action(document), codes(document)) == (
        2,
        "create",
        {"retention-drops-events": "warning"},
    )
    assert "ignored" in document["actions"][0]["findings"][0]["message"]


def test_a_budget_stops_every_start_of_the_run(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = world.manifest(world.healthy())
    # 24 tiny files at 1,000 USD/GB: about 0.006 USD; a budget of 0.001 is exceeded.
    code, document = world.plan(capsys, manifests, "--price-per-gb", "1000", "--max-cost", "0.001")
    assert (code, action(document), codes(document)) == (3, "attention", {"over-budget": "error"})
    monkeypatch.setenv("RECONCILE_MAX_COST", "0.001")
    code, document = world.plan(capsys, manifests, "--price-per-gb", "1000")
    assert codes(document) == {"over-budget": "error"}
    code, document = world.plan(capsys, manifests, "--price-per-gb", "1000", "--max-cost", "1")
    assert (code, codes(document)) == (2, {})


def test_the_entry_price_wins(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = world.manifest(world.healthy(), preflight={"price_per_gb": 500})
    _, document = world.plan(capsys, manifests, "--price-per-gb", "1")
    estimate = document["actions"][0]["estimate"]
    assert estimate["cost_usd"] == pytest.approx(
        estimate["uncompressed_bytes"] / 2**30 * 500, abs=1e-6
    )


def test_a_store_for_config_items_is_the_wrong_category(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.healthy()
    code, document = world.plan(capsys, world.manifest(seed.CONFIG_STORE_ARN))
    assert (code, codes(document)) == (3, {"store-wrong-category": "error"})


def test_no_preflight_makes_no_preflight_call(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(RetentionPeriod=30)
    code, document = world.plan(capsys, world.manifest(destination), "--no-preflight")
    assert (code, action(document), codes(document)) == (2, "create", {})
    assert document["actions"][0]["estimate"] is None and document["summary"]["estimate"] is None


def test_validate_online_checks_every_entry_and_exits_1_on_an_error(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = world.healthy(RetentionPeriod=30)
    manifests = world.manifest(destination)
    code, out, err = invoke(
        ["validate", manifests, "--online", "--endpoint-url", world.sandbox.endpoint_url], capsys
    )
    assert code == 1, err
    assert "error retention-drops-events" in out and "Preflight: 1 error, 0 warnings" in out
    code, out, _ = invoke(
        ["validate", manifests, "--online", "--json", "--endpoint-url", world.sandbox.endpoint_url],
        capsys,
    )
    document = json.loads(out)
    assert code == 1 and document["preflight"]["errors"] == 1
    assert document["preflight"]["entries"][0]["estimate"]["files"] == 24
    assert invoke(["validate", manifests], capsys)[0] == 0  # offline: no AWS, no finding


def _connections(sandbox: SandboxClient) -> Connections:
    return Connections(region=REGION, endpoint_url=sandbox.endpoint_url)


def test_a_steady_state_plan_makes_no_preflight_call(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Nothing to start: the same calls as without preflight (none of its operations)."""
    destination = world.healthy()
    manifests = world.manifest(destination)
    state = str(tmp_path / "state.json")
    code, _, err = invoke(
        ["apply", manifests, "--auto-approve", "--wait", "--poll-interval", "0.1",
         "--state", state, "--endpoint-url", world.sandbox.endpoint_url],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    from reconciler.state.local import LocalStateStore

    connections = _connections(world.sandbox)
    saved = make_plan(PlanRequest(paths=(manifests,)), LocalStateStore(state).read(), connections)
    assert saved.plan.summary()["noop"] == 1
    preflight_calls = {"GetEventDataStore", "GetBucketLocation", "ListObjectsV2", "GetRole"}
    assert not preflight_calls & set(connections.calls())


def test_the_listing_touches_only_the_prefixes_in_range(world: World) -> None:
    """Three years of hourly logs; a range of 17 months lists its years from its first
    minute to its last, and nothing of the years around it."""
    world.bucket()
    world.role()
    destination = world.store(StartIngestion=False)
    _put_hourly(datetime(2023, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    start, end = datetime(2024, 3, 15, 10, 0, tzinfo=UTC), datetime(2025, 8, 2, 5, 0, tzinfo=UTC)
    manifests = world.manifest(
        destination,
        start_event_time="2024-03-15T10:00:00Z",
        end_event_time="2025-08-02T05:00:00Z",
    )
    connections = _connections(world.sandbox)
    saved = make_plan(PlanRequest(paths=(manifests,)), StateDocument.empty(), connections)
    hours = int((end - start) / timedelta(hours=1)) + 1
    estimate = saved.plan.actions[0].estimate
    assert estimate is not None and estimate.files == hours
    in_2024 = int((datetime(2025, 1, 1, tzinfo=UTC) - start) / timedelta(hours=1))
    in_2025 = hours - in_2024
    # The bucket's top (finds AWSLogs/), AWSLogs/ (accounts), CloudTrail/ (Regions), the
    # Region (years), then each year's pages; the last year stops at the page past the end.
    pages = math.ceil(in_2024 / 1000) + math.ceil((in_2025 + 1) / 1000)
    listed = connections.preflight(ACCOUNT).listed
    assert connections.calls()["ListObjectsV2"] == 4 + pages, listed
    listed = connections.preflight(ACCOUNT).listed
    region = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"
    years = {prefix for prefix, _ in listed if prefix.startswith(region) and prefix != region}
    assert years == {f"{region}2024/", f"{region}2025/"}
    first_after = next(after for prefix, after in listed if prefix == f"{region}2024/")
    assert first_after is not None and first_after.startswith(f"{region}2024/03/15/")


def _put_hourly(start: datetime, end: datetime) -> None:
    """Straight into the in-process sandbox's S3 (26,000 HTTP PUTs would take minutes)."""
    from moto.s3.models import s3_backends

    s3 = s3_backends[ACCOUNT]["aws"]
    moment = start
    while moment < end:
        s3.put_object(BUCKET, log_key(moment), b"x" * 100)
        moment += timedelta(hours=1)


@pytest.mark.parametrize(
    "permission",
    [
        "cloudtrail:GetEventDataStore",
        "s3:GetBucketLocation",
        "s3:GetBucketOwnershipControls",
        "s3:ListBucket",
        "iam:GetRole",
        "organizations:DescribeOrganization",
    ],
)
def test_a_refused_permission_is_a_warning_that_names_it_never_not_found(
    world: World, capsys: pytest.CaptureFixture[str], permission: str
) -> None:
    destination = world.healthy(OrganizationEnabled=True)
    world.sandbox.hook("organization", {"management": ACCOUNT})
    world.sandbox.config(denied_actions=[permission])
    code, document = world.plan(capsys, world.manifest(destination))
    findings = document["actions"][0]["findings"]
    assert [(f["code"], f["severity"]) for f in findings] == [
        ("preflight-access-denied", "warning")
    ]
    assert permission in findings[0]["message"] and permission in findings[0]["fix"]
    assert (code, action(document)) == (2, "create")
    # Without the listing there is no estimate; every other refusal leaves it exact.
    estimate = document["actions"][0]["estimate"]
    assert (estimate is None) == (permission == "s3:ListBucket")


def test_apply_starts_nothing_that_preflight_stops(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Preflight runs inside apply before anything starts: an error finding, or a run over
    its budget, sends no StartImport."""
    world.bucket()
    world.logs(DAY, 24)
    destination = world.store(StartIngestion=False)  # and no role: role-not-found
    manifests = world.manifest(destination)
    common = ["--auto-approve", "--state", str(tmp_path / "state.json"),
              "--endpoint-url", world.sandbox.endpoint_url]  # fmt: skip
    code, out, _ = invoke(["apply", manifests, *common], capsys)
    assert code == 3 and "role-not-found" in out
    world.role()
    code, out, _ = invoke(
        ["apply", manifests, *common, "--price-per-gb", "1000", "--max-cost", "0.001"], capsys
    )
    assert code == 3 and "over-budget" in out
    assert world.lake.list_imports()["Imports"] == []
    code, out, err = invoke(["apply", manifests, *common], capsys)
    assert code == 0, err
    assert len(world.lake.list_imports()["Imports"]) == 1
