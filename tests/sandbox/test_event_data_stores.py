"""Event data store operations over HTTP, with moto's other services on the same port."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from reconciler.sandbox.stores import store_arn
from tests.conftest import SandboxClient
from tests.sandbox.helpers import check_shape, error_code, start


def test_seeded_stores_have_deterministic_arns(clean_sandbox: SandboxClient) -> None:
    east = clean_sandbox.client("cloudtrail")
    stores = east.list_event_data_stores()["EventDataStores"]
    assert {s["EventDataStoreArn"] for s in stores} == {
        seed.MANAGEMENT_STORE_ARN,
        seed.CONFIG_STORE_ARN,
    }
    west = clean_sandbox.client("cloudtrail", "us-west-2")
    assert [s["Name"] for s in west.list_event_data_stores()["EventDataStores"]] == [
        seed.WEST_STORE_NAME
    ]
    assert (
        store_arn("123456789012", "us-east-1", seed.MANAGEMENT_STORE_NAME)
        == seed.MANAGEMENT_STORE_ARN
    )
    assert seed.MANAGEMENT_STORE_ARN.startswith(
        "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/"
    )


def test_create_get_update_list_delete(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    created = ct.create_event_data_store(Name="audit", RetentionPeriod=90)
    check_shape(ct, "CreateEventDataStore", created)
    arn = created["EventDataStoreArn"]
    assert arn == store_arn("123456789012", "us-east-1", "audit")
    assert created["Status"] == "ENABLED"
    got = ct.get_event_data_store(EventDataStore=arn)
    check_shape(ct, "GetEventDataStore", got)
    assert got["RetentionPeriod"] == 90
    assert ct.get_event_data_store(EventDataStore=arn.rsplit("/", 1)[1])["Name"] == "audit"
    updated = ct.update_event_data_store(EventDataStore=arn, RetentionPeriod=30)
    check_shape(ct, "UpdateEventDataStore", updated)
    assert updated["RetentionPeriod"] == 30
    listed = ct.list_event_data_stores(MaxResults=1)
    check_shape(ct, "ListEventDataStores", listed)
    assert "NextToken" in listed
    with pytest.raises(ClientError) as protected:
        ct.delete_event_data_store(EventDataStore=arn)
    assert error_code(protected) == "EventDataStoreTerminationProtectedException"
    ct.update_event_data_store(EventDataStore=arn, TerminationProtectionEnabled=False)
    ct.delete_event_data_store(EventDataStore=arn)
    assert ct.get_event_data_store(EventDataStore=arn)["Status"] == "PENDING_DELETION"
    with pytest.raises(ClientError) as inactive:
        ct.delete_event_data_store(EventDataStore=arn)
    assert error_code(inactive) == "InactiveEventDataStoreException"


def test_store_errors(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    with pytest.raises(ClientError) as exists:
        ct.create_event_data_store(Name=seed.MANAGEMENT_STORE_NAME)
    assert error_code(exists) == "EventDataStoreAlreadyExistsException"
    missing = store_arn("123456789012", "us-east-1", "nope")
    with pytest.raises(ClientError) as not_found:
        ct.get_event_data_store(EventDataStore=missing)
    assert error_code(not_found) == "EventDataStoreNotFoundException"
    other_account = missing.replace("123456789012", "999999999999")
    with pytest.raises(ClientError) as invalid:
        ct.get_event_data_store(EventDataStore=other_account)
    assert error_code(invalid) == "EventDataStoreARNInvalidException"
    for index in range(8):  # 2 seeded + 8 = the limit of 10 per Region
        ct.create_event_data_store(Name=f"store-{index}")
    with pytest.raises(ClientError) as limit:
        ct.create_event_data_store(Name="one-too-many")
    assert error_code(limit) == "EventDataStoreMaxLimitExceededException"


def test_store_with_ongoing_import_cannot_change(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(speed=1.0)  # the import stays IN_PROGRESS during the test
    ct = clean_sandbox.client("cloudtrail")
    start(ct)
    for call in (
        lambda: ct.update_event_data_store(
            EventDataStore=seed.MANAGEMENT_STORE_ARN, RetentionPeriod=30
        ),
        lambda: ct.delete_event_data_store(EventDataStore=seed.MANAGEMENT_STORE_ARN),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert error_code(refused) == "EventDataStoreHasOngoingImportException"


def test_other_services_share_the_port(clean_sandbox: SandboxClient) -> None:
    s3 = clean_sandbox.client("s3")
    assert seed.BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    iam = clean_sandbox.client("iam")
    assert iam.get_role(RoleName=seed.ROLE_NAME)["Role"]["Arn"] == seed.ROLE_ARN
    assert clean_sandbox.client("sts").get_caller_identity()["Account"] == "123456789012"
    dynamodb = clean_sandbox.client("dynamodb")
    assert dynamodb.list_tables()["TableNames"] == []
    ct = clean_sandbox.client("cloudtrail")
    assert ct.describe_trails()["trailList"] == []  # moto's own trail operations still work


def test_moto_reset_clears_lake_state(clean_sandbox: SandboxClient) -> None:
    import urllib.request

    ct = clean_sandbox.client("cloudtrail")
    ct.create_event_data_store(Name="short-lived")
    clean_sandbox.bulk_imports(3, seed.MANAGEMENT_STORE_ARN)
    request = urllib.request.Request(f"{clean_sandbox.endpoint_url}/moto-api/reset", data=b"")
    urllib.request.urlopen(request, timeout=10).close()
    assert ct.list_event_data_stores()["EventDataStores"] == []
    assert ct.list_imports()["Imports"] == []
