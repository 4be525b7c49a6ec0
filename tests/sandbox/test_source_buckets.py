"""Source buckets: only `BucketOwnerEnforced` has ACLs disabled, and a bucket of another
account is read when its bucket policy lets the importing account's role in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from reconciler.sandbox.worlds import _session_in, account_world
from tests.conftest import SandboxClient
from tests.sandbox.helpers import (
    ENFORCED,
    ROLE,
    error_code,
    small_trail,
    start,
    trail_bucket,
    wait_finished,
)

OWNER = seed.OTHER_ORG_ACCOUNT  # 210987654321 owns the central log archive
ACCOUNT = seed.ACCOUNT  # the importing account
STRANGER = "arn:aws:iam::999988887777:root"
ARCHIVE = "central-log-archive"
ARCHIVE_URI = f"s3://{ARCHIVE}/AWSLogs/{ACCOUNT}/"
ONE_HOUR = (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 5, 1, tzinfo=UTC))
FILES, EVENTS = 2, 6  # small_trail: 2 files per hour, 3 records each (its digest is skipped)


def _refused_source(call: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        call()
    assert error_code(excinfo) == "InvalidImportSourceException"


def _owner_s3(sandbox: SandboxClient) -> Any:
    return _session_in(sandbox.endpoint_url, OWNER, "us-east-1").client(
        "s3", endpoint_url=sandbox.endpoint_url
    )


# ---- ownership controls -----------------------------------------------------------------


@pytest.mark.parametrize("ownership", [None, "ObjectWriter", "BucketOwnerPreferred"])
def test_acls_enabled_unless_bucket_owner_enforced(
    fidelity_sandbox: SandboxClient, ownership: str | None
) -> None:
    s3, ct = fidelity_sandbox.client("s3"), fidelity_sandbox.client("cloudtrail")
    s3.create_bucket(Bucket="legacy-logs")
    if ownership is not None:
        rules = {"Rules": [{"ObjectOwnership": ownership}]}
        s3.put_bucket_ownership_controls(Bucket="legacy-logs", OwnershipControls=rules)
    small_trail(s3, "legacy-logs", *ONE_HOUR)
    _refused_source(lambda: start(ct, uri="s3://legacy-logs/"))
    s3.put_bucket_ownership_controls(Bucket="legacy-logs", OwnershipControls=ENFORCED)
    done = wait_finished(ct, start(ct, uri="s3://legacy-logs/")["ImportId"])
    assert (done["ImportStatus"], done["ImportStatistics"]["FilesCompleted"]) == (
        "COMPLETED",
        FILES,
    )
    s3.delete_bucket_ownership_controls(Bucket="legacy-logs")
    _refused_source(lambda: start(ct, uri="s3://legacy-logs/"))


def test_seeded_and_world_buckets_have_acls_disabled(fidelity_sandbox: SandboxClient) -> None:
    s3 = fidelity_sandbox.client("s3")
    rules = s3.get_bucket_ownership_controls(Bucket=seed.BUCKET)["OwnershipControls"]["Rules"]
    assert rules == ENFORCED["Rules"]
    member = account_world(fidelity_sandbox.endpoint_url, "444455556666")
    theirs = _session_in(fidelity_sandbox.endpoint_url, member.account, member.region).client(
        "s3", endpoint_url=fidelity_sandbox.endpoint_url
    )
    controls = theirs.get_bucket_ownership_controls(Bucket=member.bucket)["OwnershipControls"]
    assert controls["Rules"] == ENFORCED["Rules"]


# ---- buckets of another account -----------------------------------------------------------


@pytest.fixture
def archive(fidelity_sandbox: SandboxClient) -> Any:
    """A bucket of account OWNER holding the importing account's trail (a central log
    archive), ACLs disabled, no bucket policy yet. Returns the owner's S3 client."""
    s3 = _owner_s3(fidelity_sandbox)
    trail_bucket(s3, ARCHIVE)
    small_trail(s3, ARCHIVE, *ONE_HOUR)
    return s3


def _allow(s3: Any, principal: Any, action: Any, effect: str = "Allow") -> None:
    statement = {
        "Effect": effect, "Principal": principal, "Action": action,
        "Resource": [f"arn:aws:s3:::{ARCHIVE}", f"arn:aws:s3:::{ARCHIVE}/*"],
    }  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=ARCHIVE, Policy=json.dumps(policy))


@pytest.mark.parametrize(
    ("principal", "action"),
    [
        ({"AWS": ROLE}, "s3:GetObject"),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ["s3:ListBucket", "s3:GetObject"]),
        ({"AWS": ACCOUNT}, "s3:*"),
        ("*", "*"),
        ({"AWS": [STRANGER, ROLE]}, "S3:Get*"),
    ],
)
def test_another_accounts_bucket_its_policy_allows(
    fidelity_sandbox: SandboxClient, archive: Any, principal: Any, action: Any
) -> None:
    _allow(archive, principal, action)
    ct = fidelity_sandbox.client("cloudtrail")
    done = wait_finished(ct, start(ct, uri=ARCHIVE_URI)["ImportId"])
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"]["FilesCompleted"] == FILES
    assert done["ImportStatistics"]["EventsCompleted"] == EVENTS


@pytest.mark.parametrize(
    ("principal", "action", "effect"),
    [
        (None, None, "Allow"),  # no bucket policy at all
        ({"AWS": STRANGER}, "s3:GetObject", "Allow"),
        ({"AWS": ROLE}, "s3:ListBucket", "Allow"),
        ({"AWS": ROLE}, "s3:GetObject", "Deny"),
        ({"Service": "cloudtrail.amazonaws.com"}, "s3:GetObject", "Allow"),
    ],
)
def test_another_accounts_bucket_without_a_grant_fails_every_file(
    fidelity_sandbox: SandboxClient, archive: Any, principal: Any, action: Any, effect: str
) -> None:
    if principal is not None:
        _allow(archive, principal, action, effect)
    ct = fidelity_sandbox.client("cloudtrail")
    import_id = start(ct, uri=ARCHIVE_URI)["ImportId"]  # StartImport itself is accepted
    failed = wait_finished(ct, import_id)
    assert failed["ImportStatus"] == "FAILED"
    assert failed["ImportStatistics"]["FilesCompleted"] == 0
    assert failed["ImportStatistics"]["FailedEntries"] == FILES
    failures = ct.list_import_failures(ImportId=import_id)["Failures"]
    assert {f["ErrorType"] for f in failures} == {"AccessDenied"}
    assert all(f["Location"].startswith(f"s3://{ARCHIVE}/") for f in failures)


def test_another_accounts_bucket_is_still_checked_at_start(fidelity_sandbox: SandboxClient) -> None:
    s3, ct = _owner_s3(fidelity_sandbox), fidelity_sandbox.client("cloudtrail")
    trail_bucket(s3, "archive-in-oregon", region="us-west-2")
    s3.create_bucket(Bucket="archive-with-acls")  # no ownership controls
    for bucket in ("archive-in-oregon", "archive-with-acls"):
        allow_all = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [allow_all]})
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)
        _refused_source(lambda bucket=bucket: start(ct, uri=f"s3://{bucket}/"))
