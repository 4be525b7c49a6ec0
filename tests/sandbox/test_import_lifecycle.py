"""Imports really run: files listed, read from S3, counted, failed, retried, stopped."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from reconciler.sandbox import seed
from tests.conftest import SandboxClient
from tests.sandbox.helpers import (
    ROLE,
    SINGLE,
    STORE,
    check_shape,
    start,
    trail_file,
    wait_finished,
)  # fmt: skip

# Seeded single-account trail: 2 Regions x 72 hours x 2 files, 5 records each.
ALL_FILES, ALL_EVENTS, ALL_PREFIXES = 288, 1440, 6
FIRST_HOUR = {
    "StartEventTime": datetime(2026, 1, 5, tzinfo=UTC),
    "EndEventTime": datetime(2026, 1, 5, 0, 59, tzinfo=UTC),
}
BAD_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/"
    "123456789012_CloudTrail_us-east-1_20260105T0010Z_BADBADBADBADBADB.json.gz"
)


def _record(event_id: str) -> dict[str, str]:
    return {"eventID": event_id, "eventTime": "2026-01-05T00:09:00Z", "eventName": "GetRole"}


def test_import_runs_to_completion(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    started = start(ct)
    check_shape(ct, "StartImport", started)
    assert started["ImportStatus"] == "INITIALIZING"
    assert "ImportStatistics" not in started
    done = wait_finished(ct, started["ImportId"])
    check_shape(ct, "GetImport", done)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"] == {
        "PrefixesFound": ALL_PREFIXES,
        "PrefixesCompleted": ALL_PREFIXES,
        "FilesCompleted": ALL_FILES,
        "EventsCompleted": ALL_EVENTS,
        "FailedEntries": 0,
    }  # fmt: skip  (digest files are not counted)
    assert done["UpdatedTimestamp"] > done["CreatedTimestamp"]


def test_progress_is_visible_over_time(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(speed=100.0, init_seconds=0.3)
    ct = clean_sandbox.client("cloudtrail")
    import_id = start(ct)["ImportId"]
    assert ct.get_import(ImportId=import_id)["ImportStatus"] == "INITIALIZING"
    time.sleep(0.6)
    midway = ct.get_import(ImportId=import_id)
    assert midway["ImportStatus"] == "IN_PROGRESS"
    assert 0 < midway["ImportStatistics"]["FilesCompleted"] < ALL_FILES
    assert ct.list_imports(ImportStatus="IN_PROGRESS")["Imports"][0]["ImportId"] == import_id


def test_time_range_is_closed_on_file_names(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    hour = wait_finished(ct, start(ct, **FIRST_HOUR)["ImportId"])
    assert hour["ImportStatistics"]["FilesCompleted"] == 4  # 00:05 and 00:32, two Regions
    assert hour["StartEventTime"] == FIRST_HOUR["StartEventTime"]
    at_first_file = datetime(2026, 1, 5, 0, 5, tzinfo=UTC)
    one = start(ct, StartEventTime=at_first_file, EndEventTime=at_first_file)
    assert wait_finished(ct, one["ImportId"])["ImportStatistics"]["FilesCompleted"] == 2


def test_organization_layout(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    done = wait_finished(ct, start(ct, uri=seed.ORGANIZATION_URI)["ImportId"])
    assert done["ImportStatistics"]["FilesCompleted"] == 2 * ALL_FILES  # two member accounts


def test_bad_file_fails_then_retry_completes(clean_sandbox: SandboxClient) -> None:
    ct, s3 = clean_sandbox.client("cloudtrail"), clean_sandbox.client("s3")
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=b"plain text, not gzip")
    import_id = start(ct, **FIRST_HOUR)["ImportId"]
    failed = wait_finished(ct, import_id)
    assert failed["ImportStatus"] == "FAILED"
    assert failed["ImportStatistics"]["FilesCompleted"] == 4
    assert failed["ImportStatistics"]["FailedEntries"] == 1
    failures = ct.list_import_failures(ImportId=import_id)
    check_shape(ct, "ListImportFailures", failures)
    [failure] = failures["Failures"]
    assert failure["Location"] == f"s3://{seed.BUCKET}/{BAD_KEY}"
    assert failure["Status"] == "FAILED"
    assert failure["ErrorType"] and failure["ErrorMessage"]
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=trail_file([_record("fixed-1")]))
    retried = ct.start_import(ImportId=import_id)
    assert retried["ImportStatus"] == "INITIALIZING"
    done = wait_finished(ct, import_id)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"]["FilesCompleted"] == 5
    assert done["ImportStatistics"]["EventsCompleted"] == 4 * 5 + 1
    assert done["ImportStatistics"]["FailedEntries"] == 0
    assert ct.list_import_failures(ImportId=import_id)["Failures"][0]["Status"] == "SUCCEEDED"
    store = clean_sandbox.stats()[STORE]  # completed files were not read twice
    assert store["events_ingested"] == 21
    assert store["event_ids_ingested_more_than_once"] == 0


def test_record_without_event_id_fails_its_file(clean_sandbox: SandboxClient) -> None:
    ct, s3 = clean_sandbox.client("cloudtrail"), clean_sandbox.client("s3")
    s3.put_object(
        Bucket=seed.BUCKET, Key=BAD_KEY, Body=trail_file([{"eventTime": "2026-01-05T00:00:00Z"}])
    )
    import_id = start(ct, **FIRST_HOUR)["ImportId"]
    assert wait_finished(ct, import_id)["ImportStatus"] == "FAILED"
    failure = ct.list_import_failures(ImportId=import_id)["Failures"][0]
    assert failure["ErrorType"] == "InvalidEventFormat"


def test_role_problems_fail_every_file_with_access_denied(clean_sandbox: SandboxClient) -> None:
    ct, iam = clean_sandbox.client("cloudtrail"), clean_sandbox.client("iam")
    ec2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:*"}
    ec2_trust = {"Version": "2012-10-17", "Statement": [ec2]}
    untrusting = iam.create_role(
        RoleName="ec2-only", AssumeRolePolicyDocument=json.dumps(ec2_trust)
    )
    for role in ("arn:aws:iam::123456789012:role/absent", untrusting["Role"]["Arn"]):
        import_id = start(ct, role=role, **FIRST_HOUR)["ImportId"]
        failed = wait_finished(ct, import_id)
        assert failed["ImportStatus"] == "FAILED"
        assert failed["ImportStatistics"]["FailedEntries"] == 4
        failures = ct.list_import_failures(ImportId=import_id)["Failures"]
        assert {f["ErrorType"] for f in failures} == {"AccessDenied"}


def test_import_failures_are_paged(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    import_id = start(ct, role="arn:aws:iam::123456789012:role/absent")["ImportId"]
    wait_finished(ct, import_id)
    pages = list(
        ct.get_paginator("list_import_failures").paginate(
            ImportId=import_id, PaginationConfig={"PageSize": 100}
        )
    )
    assert [len(page["Failures"]) for page in pages] == [100, 100, 88]
    assert len({f["Location"] for page in pages for f in page["Failures"]}) == ALL_FILES


def test_stop_then_retry_redoes_only_unreached_files(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(speed=200.0)
    ct = clean_sandbox.client("cloudtrail")
    import_id = start(ct)["ImportId"]
    time.sleep(0.3)
    stopped = ct.stop_import(ImportId=import_id)
    check_shape(ct, "StopImport", stopped)
    assert stopped["ImportStatus"] == "STOPPED"
    partial = stopped["ImportStatistics"]["FilesCompleted"]
    assert 0 < partial < ALL_FILES
    time.sleep(0.1)
    assert ct.get_import(ImportId=import_id)["ImportStatistics"]["FilesCompleted"] == partial
    clean_sandbox.config(speed=2000.0)
    ct.start_import(ImportId=import_id)
    done = wait_finished(ct, import_id)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"]["FilesCompleted"] == ALL_FILES
    assert clean_sandbox.stats()[STORE]["event_ids_ingested_more_than_once"] == 0


def test_importing_a_range_twice_duplicates_events(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    wait_finished(ct, start(ct, **FIRST_HOUR)["ImportId"])
    assert clean_sandbox.stats()[STORE]["duplicate_events"] == 0
    wait_finished(ct, start(ct, **FIRST_HOUR)["ImportId"])
    store = clean_sandbox.stats()[STORE]
    assert store["events_ingested"] == 40
    assert store["distinct_event_ids"] == 20
    assert store["event_ids_ingested_more_than_once"] == 20
    assert store["duplicate_events"] == 20


def test_events_older_than_retention_are_dropped(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    short = ct.create_event_data_store(Name="one-week", RetentionPeriod=7)["EventDataStoreArn"]
    done = wait_finished(ct, start(ct, store=short, **FIRST_HOUR)["ImportId"])
    assert done["ImportStatus"] == "COMPLETED"  # the seeded logs are from January 2026
    assert done["ImportStatistics"]["FilesCompleted"] == 4
    assert done["ImportStatistics"]["EventsCompleted"] == 0


def test_file_is_read_when_processed_not_when_listed(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(init_seconds=0.5)
    ct, s3 = clean_sandbox.client("cloudtrail"), clean_sandbox.client("s3")
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=b"broken for now")
    minute = datetime(2026, 1, 5, 0, 10, tzinfo=UTC)
    import_id = start(ct, StartEventTime=minute, EndEventTime=minute)["ImportId"]
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=trail_file([_record("a"), _record("b")]))
    done = wait_finished(ct, import_id)
    assert (done["ImportStatus"], done["ImportStatistics"]["EventsCompleted"]) == ("COMPLETED", 2)


def test_role_is_kept_from_the_first_start(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    import_id = start(ct, role=ROLE, **FIRST_HOUR)["ImportId"]
    assert ct.get_import(ImportId=import_id)["ImportSource"]["S3"] == {
        "S3LocationUri": SINGLE, "S3BucketRegion": "us-east-1", "S3BucketAccessRoleArn": ROLE,
    }  # fmt: skip
