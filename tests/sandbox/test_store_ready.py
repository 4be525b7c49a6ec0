"""`store_ready_seconds`: a new event data store reports CREATED (and refuses imports) for a
while after creation, worked out lazily from its creation time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from reconciler.sandbox.stores import DEFAULT_SELECTORS, EventDataStore, now_utc
from tests.conftest import SandboxClient
from tests.sandbox.helpers import check_shape, error_code, start, wait_finished

LONG = 3600.0  # far longer than any test: the store cannot become ready meanwhile


def _listed_status(ct: Any, arn: str) -> str:
    stores = ct.list_event_data_stores()["EventDataStores"]
    check_shape(ct, "ListEventDataStores", {"EventDataStores": stores})
    [status] = [s["Status"] for s in stores if s["EventDataStoreArn"] == arn]
    return str(status)


@pytest.mark.parametrize("ingestion", [True, False])
def test_new_store_is_created_until_ready(fidelity_sandbox: SandboxClient, ingestion: bool) -> None:
    fidelity_sandbox.config(store_ready_seconds=LONG)
    ct = fidelity_sandbox.client("cloudtrail")
    created = ct.create_event_data_store(Name="slow-to-start", StartIngestion=ingestion)
    check_shape(ct, "CreateEventDataStore", created)
    arn = created["EventDataStoreArn"]
    assert created["Status"] == "CREATED"
    got = ct.get_event_data_store(EventDataStore=arn)
    check_shape(ct, "GetEventDataStore", got)
    assert got["Status"] == "CREATED"
    assert _listed_status(ct, arn) == "CREATED"
    assert _listed_status(ct, seed.MANAGEMENT_STORE_ARN) == "ENABLED"  # older stores unchanged
    for call in (
        lambda: start(ct, store=arn),
        lambda: ct.start_event_data_store_ingestion(EventDataStore=arn),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert error_code(refused) == "InvalidEventDataStoreStatusException"


@pytest.mark.parametrize(("ingestion", "status"), [(True, "ENABLED"), (False, "STOPPED_INGESTION")])
def test_store_is_usable_at_once_by_default(
    fidelity_sandbox: SandboxClient, ingestion: bool, status: str
) -> None:
    ct = fidelity_sandbox.client("cloudtrail")
    arn = ct.create_event_data_store(Name="ready", StartIngestion=ingestion)["EventDataStoreArn"]
    assert ct.get_event_data_store(EventDataStore=arn)["Status"] == status
    assert _listed_status(ct, arn) == status
    assert wait_finished(ct, start(ct, store=arn)["ImportId"])["ImportStatus"] == "COMPLETED"


def test_seeded_stores_are_ready_whatever_the_setting(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(store_ready_seconds=LONG)
    fidelity_sandbox.hook("reset", {"seed": True})  # seeding under the long setting
    ct = fidelity_sandbox.client("cloudtrail")
    assert _listed_status(ct, seed.MANAGEMENT_STORE_ARN) == "ENABLED"
    assert wait_finished(ct, start(ct)["ImportId"])["ImportStatus"] == "COMPLETED"


def _store(age_seconds: float, settled: str) -> EventDataStore:
    created = now_utc() - timedelta(seconds=age_seconds)
    return EventDataStore(
        arn="arn", name="n", selectors=DEFAULT_SELECTORS, retention_days=7, multi_region=True,
        organization=False, termination_protection=False, billing_mode="x",
        created=created, updated=created, settled_status=settled,
    )  # fmt: skip


def test_status_is_computed_from_the_creation_time() -> None:
    young = _store(age_seconds=10, settled="STOPPED_INGESTION")
    young.become_ready_after(LONG)
    assert young.status == "CREATED"
    old = _store(age_seconds=10, settled="STOPPED_INGESTION")
    old.become_ready_after(5)  # created 10 s ago, ready after 5: ready now, without a thread
    assert old.status == "STOPPED_INGESTION"
    young.status = "PENDING_DELETION"  # an explicit change ends the CREATED period
    assert young.status == "PENDING_DELETION"
