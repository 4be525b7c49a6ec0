"""Every StartImport error of DOMAIN.md's "Sandbox choices" table, with its exact code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from reconciler.sandbox.stores import store_arn
from tests.conftest import SandboxClient
from tests.sandbox.helpers import ROLE, SINGLE, STORE, error_code, source, start, wait_finished

UNKNOWN_STORE = store_arn("123456789012", "us-east-1", "never-created")
OTHER_ACCOUNT_STORE = store_arn("111122223333", "us-east-1", "theirs")
WEST_STORE_SEEN_FROM_EAST = seed.WEST_STORE_ARN


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error_code(excinfo)


@pytest.mark.parametrize(
    ("destination", "code"),
    [
        (
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/not-a-store",
            "EventDataStoreARNInvalidException",
        ),
        (OTHER_ACCOUNT_STORE, "EventDataStoreARNInvalidException"),
        (UNKNOWN_STORE, "EventDataStoreNotFoundException"),
        (WEST_STORE_SEEN_FROM_EAST, "EventDataStoreNotFoundException"),
        (seed.CONFIG_STORE_ARN, "InvalidEventDataStoreCategoryException"),
    ],
)
def test_destination_errors(clean_sandbox: SandboxClient, destination: str, code: str) -> None:
    ct = clean_sandbox.client("cloudtrail")
    assert _refused(lambda: start(ct, store=destination)) == code


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("CREATED", "InvalidEventDataStoreStatusException"),
        ("STARTING_INGESTION", "InvalidEventDataStoreStatusException"),
        ("STOPPING_INGESTION", "InvalidEventDataStoreStatusException"),
        ("PENDING_DELETION", "InactiveEventDataStoreException"),
    ],
)
def test_store_status_errors(clean_sandbox: SandboxClient, status: str, code: str) -> None:
    clean_sandbox.hook("store-status", {"arn": STORE, "status": status})
    assert _refused(lambda: start(clean_sandbox.client("cloudtrail"))) == code


def test_stopped_ingestion_store_accepts_imports(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    ct.stop_event_data_store_ingestion(EventDataStore=STORE)
    assert ct.get_event_data_store(EventDataStore=STORE)["Status"] == "STOPPED_INGESTION"
    assert wait_finished(ct, start(ct)["ImportId"])["ImportStatus"] == "COMPLETED"


def test_source_errors(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    s3 = clean_sandbox.client("s3")
    s3.create_bucket(
        Bucket="west-logs", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    s3.create_bucket(Bucket="acl-logs")
    s3.put_bucket_ownership_controls(
        Bucket="acl-logs", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.create_bucket(Bucket="old-logs")  # no ownership controls: ACLs enabled
    for uri in (
        "reconcile-demo-trail/AWSLogs/",
        "s3://missing-bucket/",
        "s3://west-logs/",
        "s3://acl-logs/",
        "s3://old-logs/",
    ):
        assert _refused(lambda uri=uri: start(ct, uri=uri)) == "InvalidImportSourceException", uri
    wrong_region = lambda: ct.start_import(  # noqa: E731
        Destinations=[STORE], ImportSource=source(SINGLE, region="us-west-2")
    )
    assert _refused(wrong_region) == "InvalidImportSourceException"


def test_parameter_errors(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    # botocore insists on the key but not on a value: an empty role is "missing" server-side
    missing_role = {
        "S3": {"S3LocationUri": SINGLE, "S3BucketRegion": "us-east-1", "S3BucketAccessRoleArn": ""}
    }
    assert _refused(lambda: ct.start_import(Destinations=[STORE], ImportSource=missing_role)) == (
        "InvalidParameterException"
    )
    reversed_range = lambda: start(  # noqa: E731
        ct,
        StartEventTime=datetime(2026, 2, 1, tzinfo=UTC),
        EndEventTime=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert _refused(reversed_range) == "InvalidParameterException"
    first = start(ct)["ImportId"]
    wait_finished(ct, first)
    mixed = lambda: ct.start_import(ImportId=first, Destinations=[STORE])  # noqa: E731
    assert _refused(mixed) == "InvalidParameterException"
    assert (
        _refused(lambda: ct.start_import(ImportId=first)) == "InvalidParameterException"
    )  # COMPLETED
    unknown = "00000000-0000-4000-8000-000000000000"
    assert _refused(lambda: ct.start_import(ImportId=unknown)) == "ImportNotFoundException"


def test_one_ongoing_import_per_account_by_default(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(speed=2.0)
    east = fidelity_sandbox.client("cloudtrail")
    running = start(east)["ImportId"]
    assert _refused(lambda: start(east)) == "AccountHasOngoingImportException"
    west = fidelity_sandbox.client("cloudtrail", "us-west-2")
    west_start = lambda: west.start_import(  # noqa: E731
        Destinations=[seed.WEST_STORE_ARN], ImportSource=source(SINGLE)
    )
    assert _refused(west_start) == "AccountHasOngoingImportException"  # any Region counts
    east.stop_import(ImportId=running)
    assert west_start()["ImportStatus"] == "INITIALIZING"


def test_one_ongoing_import_per_account_and_region(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(speed=2.0, ongoing_scope="region")
    east = fidelity_sandbox.client("cloudtrail")
    running = start(east)["ImportId"]
    assert _refused(lambda: start(east)) == "AccountHasOngoingImportException"
    west = fidelity_sandbox.client("cloudtrail", "us-west-2")
    other_region = west.start_import(
        Destinations=[seed.WEST_STORE_ARN], ImportSource=source(SINGLE)
    )
    assert other_region["ImportStatus"] == "INITIALIZING"  # per Region: the west one may start
    east.stop_import(ImportId=running)
    assert start(east, role=ROLE)["ImportStatus"] == "INITIALIZING"
