"""The client factory: one Session, cached clients, retry policies, dummy credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from reconciler.aws.session import ClientFactory, is_loopback, utc_timestamp
from reconciler.sandbox.seed import MANAGEMENT_STORE_ARN
from tests.conftest import SandboxClient
from tests.sandbox.helpers import source


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5555", True), ("http://127.8.9.10", True), ("http://localhost:1", True),
        ("http://[::1]:5555", True), ("https://cloudtrail.us-east-1.amazonaws.com", False),
        ("http://10.0.0.1:5555", False), (None, False), ("", False),
    ],
)  # fmt: skip
def test_is_loopback(url: str | None, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_clients_are_cached_per_service_region_and_policy(sandbox: SandboxClient) -> None:
    factory = ClientFactory(region="us-east-1", endpoint_url=sandbox.endpoint_url)
    assert factory.cloudtrail() is factory.cloudtrail("us-east-1")
    assert factory.cloudtrail("us-west-2") is not factory.cloudtrail()
    assert factory.cloudtrail_start_import() is not factory.cloudtrail()
    assert factory.cloudtrail().meta.config.retries["total_max_attempts"] == 10
    assert factory.cloudtrail_start_import().meta.config.retries["total_max_attempts"] == 1
    assert factory.cloudtrail().meta.region_name == "us-east-1"


def test_loopback_works_without_any_credentials(
    sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    factory = ClientFactory(region="us-east-1", endpoint_url=sandbox.endpoint_url)
    assert factory.cloudtrail().list_imports()["Imports"] is not None
    remote = ClientFactory(region="us-east-1", endpoint_url="https://example.invalid")
    assert remote.session.get_credentials() is None  # never dummy credentials off loopback


def test_start_import_client_does_not_retry_a_lost_response(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(lose_start_responses=1.0, speed=1.0)
    factory = ClientFactory(region="us-east-1", endpoint_url=clean_sandbox.endpoint_url)
    with pytest.raises(ClientError) as lost:
        factory.cloudtrail_start_import().start_import(
            Destinations=[MANAGEMENT_STORE_ARN], ImportSource=source()
        )
    assert lost.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert len(factory.cloudtrail().list_imports()["Imports"]) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1704067200, datetime(2024, 1, 1, tzinfo=UTC)),
        (1704067200.25, datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T01:00:00+01:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00.250Z", datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
        ("Mon, 01 Jan 2024 00:00:00 GMT", datetime(2024, 1, 1, tzinfo=UTC)),  # an HTTP date
        ("2024-01-01 00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_the_same_moment(value: object, expected: datetime) -> None:
    from botocore.utils import parse_timestamp

    parsed = utc_timestamp(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == parse_timestamp(value).replace(tzinfo=parse_timestamp(value).tzinfo or UTC)


def test_clients_parse_json_and_xml_timestamps(sandbox: SandboxClient) -> None:
    """Epoch numbers (CloudTrail's JSON) take the quick path; ISO text (S3's XML) botocore's."""
    factory = ClientFactory(region="us-east-1", endpoint_url=sandbox.endpoint_url)
    stores = factory.cloudtrail().list_event_data_stores()["EventDataStores"]
    created = [store["CreatedTimestamp"] for store in stores]
    assert created and all(moment.tzinfo is UTC for moment in created)
    # botocore's own parser, for comparison
    raw = sandbox.client("cloudtrail").list_event_data_stores()["EventDataStores"]
    assert created == [store["CreatedTimestamp"] for store in raw]
    buckets = factory.client("s3").list_buckets()["Buckets"]
    assert buckets and all(b["CreationDate"].utcoffset() == timedelta(0) for b in buckets)
