"""ListImports over many bulk-inserted imports: pages, filters, limits, shapes."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from tests.conftest import SandboxClient
from tests.sandbox.helpers import STORE, check_shape, error_code


def test_pages_over_2500_imports(clean_sandbox: SandboxClient) -> None:
    started = time.perf_counter()
    completed = clean_sandbox.bulk_imports(2000, STORE)
    failed = clean_sandbox.bulk_imports(500, STORE, status="FAILED")
    assert time.perf_counter() - started < 2
    ct = clean_sandbox.client("cloudtrail")
    pages = list(ct.get_paginator("list_imports").paginate(PaginationConfig={"PageSize": 1000}))
    assert [len(page["Imports"]) for page in pages] == [1000, 1000, 500]
    for page in pages:
        check_shape(ct, "ListImports", page)
    listed = [item["ImportId"] for page in pages for item in page["Imports"]]
    assert listed == completed + failed  # every import once, in creation order
    assert set(pages[0]["Imports"][0]) == {
        "ImportId",
        "ImportStatus",
        "Destinations",
        "CreatedTimestamp",
        "UpdatedTimestamp",
    }  # no source, no time range, no statistics


def test_filters(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.bulk_imports(30, STORE)
    failed = clean_sandbox.bulk_imports(7, STORE, status="FAILED")
    elsewhere = seed.CONFIG_STORE_ARN
    clean_sandbox.bulk_imports(5, elsewhere, status="STOPPED")
    ct = clean_sandbox.client("cloudtrail")
    paginator = ct.get_paginator("list_imports")

    def ids(**filters: str) -> list[str]:
        pages = paginator.paginate(**filters, PaginationConfig={"PageSize": 4})
        return [item["ImportId"] for page in pages for item in page["Imports"]]

    assert ids(ImportStatus="FAILED") == failed
    assert len(ids(Destination=STORE)) == 37
    assert len(ids(Destination=elsewhere, ImportStatus="STOPPED")) == 5
    assert ids(Destination=elsewhere, ImportStatus="COMPLETED") == []
    west = clean_sandbox.client("cloudtrail", "us-west-2")
    assert west.list_imports()["Imports"] == []  # per Region


def test_limits_and_bad_tokens(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    clean_sandbox.bulk_imports(3, STORE)
    first = ct.list_imports(MaxResults=2)
    assert len(first["Imports"]) == 2
    assert len(ct.list_imports(MaxResults=2, NextToken=first["NextToken"])["Imports"]) == 1
    with pytest.raises(ClientError) as too_many:
        ct.list_imports(MaxResults=1001)
    assert error_code(too_many) == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_token:
        ct.list_imports(NextToken="not-a-token")
    assert error_code(bad_token) == "InvalidNextTokenException"


def test_bulk_insert_of_10000_is_fast(clean_sandbox: SandboxClient) -> None:
    started = time.perf_counter()
    assert len(clean_sandbox.bulk_imports(10_000, STORE)) == 10_000
    assert time.perf_counter() - started < 1.5
    imported = clean_sandbox.client("cloudtrail").get_import(
        ImportId=clean_sandbox.bulk_imports(1, STORE)[0]
    )
    assert imported["ImportStatus"] == "COMPLETED"
    assert imported["ImportStatistics"]["FailedEntries"] == 0


def test_reader_lists_the_same_with_and_without_the_fast_parse(
    clean_sandbox: SandboxClient,
) -> None:
    from reconciler.aws import fastparse
    from reconciler.aws.lake import LakeReader
    from reconciler.aws.session import ClientFactory

    clean_sandbox.bulk_imports(1200, STORE)
    clean_sandbox.bulk_imports(3, STORE, status="FAILED")
    reader = LakeReader(
        ClientFactory(region="us-east-1", endpoint_url=clean_sandbox.endpoint_url), seed.ACCOUNT
    )
    fast = reader.list_imports("us-east-1", destination=STORE)
    client = reader.factory.cloudtrail("us-east-1")
    client.meta.events.unregister(fastparse.EVENT, fastparse.lift_imports)
    slow = reader.list_imports("us-east-1", destination=STORE)
    assert len(fast) == 1203
    assert fast == slow  # same ids, statuses, stores and timestamps as botocore reads them
    assert all(item.created is not None and item.created.tzinfo is not None for item in fast)
