"""Each fault option: latency, throttling, lost StartImport responses; all seedable."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import SandboxClient
from tests.sandbox.helpers import STORE, error_code, start


def test_latency_delays_cloudtrail_calls_only(clean_sandbox: SandboxClient) -> None:
    ct, s3 = clean_sandbox.client("cloudtrail"), clean_sandbox.client("s3")
    ct.list_imports()  # warm the connection
    clean_sandbox.config(latency_ms=300)
    began = time.perf_counter()
    ct.list_imports()
    assert time.perf_counter() - began >= 0.3
    began = time.perf_counter()
    s3.list_buckets()
    assert time.perf_counter() - began < 0.3


def _throttled(clean_sandbox: SandboxClient, calls: int) -> list[bool]:
    ct = clean_sandbox.client("cloudtrail")
    outcomes = []
    for _ in range(calls):
        try:
            ct.list_imports()
            outcomes.append(False)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            outcomes.append(True)
    return outcomes


def test_throttle_fraction_is_seedable(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(throttle=0.5, fault_seed=42)
    first = _throttled(clean_sandbox, 40)
    clean_sandbox.config(throttle=0.5, fault_seed=42)
    assert _throttled(clean_sandbox, 40) == first
    assert 8 <= sum(first) <= 32
    clean_sandbox.config(throttle=1.0)
    assert all(_throttled(clean_sandbox, 3))
    assert clean_sandbox.client("s3").list_buckets()["Buckets"]  # other services untouched


def test_standard_retries_ride_over_throttling(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(throttle=0.3, fault_seed=1)
    assert any(_throttled(clean_sandbox, 10)), "the seed must throttle some single calls"
    clean_sandbox.config(throttle=0.3, fault_seed=1)  # the same fault sequence again
    patient = clean_sandbox.client("cloudtrail", max_attempts=10)
    answers = [patient.list_imports() for _ in range(10)]
    assert all(answer["ResponseMetadata"]["HTTPStatusCode"] == 200 for answer in answers)
    assert sum(answer["ResponseMetadata"]["RetryAttempts"] for answer in answers) > 0


def test_lost_start_response_still_starts_the_import(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(lose_start_responses=1.0, speed=1.0)
    ct = clean_sandbox.client("cloudtrail")
    with pytest.raises(ClientError) as lost:
        start(ct)
    assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500, lost.value.response
    [started] = ct.list_imports(Destination=STORE)["Imports"]
    assert started["ImportStatus"] in ("INITIALIZING", "IN_PROGRESS")
    with pytest.raises(ClientError) as second:  # the error of a refused start passes through
        start(ct)
    assert error_code(second) == "AccountHasOngoingImportException"


def test_lost_responses_follow_the_fraction(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(lose_start_responses=0.5, fault_seed=3)
    ct = clean_sandbox.client("cloudtrail")
    lost = 0
    for _ in range(10):
        try:
            start(ct)
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            lost += 1
        for item in ct.list_imports()["Imports"]:  # make way for the next start
            if item["ImportStatus"] in ("INITIALIZING", "IN_PROGRESS"):
                ct.stop_import(ImportId=item["ImportId"])
    assert 1 <= lost <= 9
    assert len(ct.list_imports()["Imports"]) == 10  # every call started one import
