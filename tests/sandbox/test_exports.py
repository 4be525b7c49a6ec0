"""CloudWatch Logs import tasks from event data stores, over real boto3 calls: events really
copied by day of eventTime, batches atomic, 3 active per account, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox.exports import log_group_name
from tests.conftest import SandboxClient
from tests.sandbox.helpers import STORE, error_code, start, wait_finished

GROUP = log_group_name(STORE)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


JAN_5_6 = {"startEventTime": ms("2026-01-05T00:00:00"), "endEventTime": ms("2026-01-06T23:59:59")}


@pytest.fixture
def filled(clean_sandbox: SandboxClient) -> SandboxClient:
    """The seeded store, filled by one import of the seeded days."""
    cloudtrail = clean_sandbox.client("cloudtrail")
    found = start(cloudtrail, StartEventTime=datetime(2026, 1, 5, tzinfo=UTC),
                  EndEventTime=datetime(2026, 1, 7, 23, 59, tzinfo=UTC))  # fmt: skip
    assert wait_finished(cloudtrail, found["ImportId"])["ImportStatus"] == "COMPLETED"
    return clean_sandbox


def export(sandbox: SandboxClient, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = sandbox.client("logs").create_import_task(
        importSourceArn=STORE, importRoleArn=extra.pop("role", ROLE), **extra
    )
    return response


def task(sandbox: SandboxClient, import_id: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("logs").describe_import_tasks(importId=import_id)
    return dict(found["imports"][0])


def batches(sandbox: SandboxClient, import_id: str) -> list[dict[str, Any]]:
    logs = sandbox.client("logs")
    return list(logs.describe_import_task_batches(importId=import_id)["importBatches"])


def events_by_day(sandbox: SandboxClient) -> dict[str, list[dict[str, Any]]]:
    logs, found, token = sandbox.client("logs"), [], None
    while True:
        page = logs.filter_log_events(logGroupName=GROUP, **({"nextToken": token} if token else {}))
        found += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    days: dict[str, list[dict[str, Any]]] = {}
    for event in found:
        day = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%Y-%m-%d")
        days.setdefault(day, []).append(event)
    return days


def log_groups(sandbox: SandboxClient) -> dict[str, dict[str, Any]]:
    return {row["log_group"]: row for row in sandbox.hook("stats")["log_groups"]}


ROLE = STORE and "arn:aws:iam::123456789012:role/reconcile-demo-import"


def test_an_export_copies_the_range_by_day_into_the_log_group_aws_names(
    filled: SandboxClient,
) -> None:
    created = export(filled, importFilter=JAN_5_6)
    assert created["importDestinationArn"].endswith(f":log-group:{GROUP}")
    found = task(filled, created["importId"])
    assert found["importStatus"] == "COMPLETED"
    assert found["importFilter"] == JAN_5_6 and found["importSourceArn"] == STORE
    assert found["importStatistics"]["bytesImported"] > 0
    assert [b["status"] for b in batches(filled, created["importId"])] == ["COMPLETED"] * 2
    days = events_by_day(filled)
    assert sorted(days) == ["2026-01-05", "2026-01-06"]  # the 7th is outside the filter
    first = days["2026-01-05"][0]
    assert '"eventID"' in first["message"] and '"eventName"' in first["message"]  # the body
    copied = log_groups(filled)[GROUP]
    assert copied["events_copied"] == sum(len(events) for events in days.values())
    assert copied["duplicate_events"] == 0

    export(filled, importFilter={"startEventTime": JAN_5_6["startEventTime"],
                                 "endEventTime": ms("2026-01-05T23:59:59")})  # fmt: skip
    again = log_groups(filled)[GROUP]
    assert again["duplicate_events"] == len(days["2026-01-05"])  # the sandbox counts a repeat


def test_a_failed_batch_writes_none_of_its_day_and_the_task_fails(filled: SandboxClient) -> None:
    filled.config(export_failing_days=["2026-01-06"])
    created = export(filled)
    found = task(filled, created["importId"])
    listed = batches(filled, created["importId"])
    assert found["importStatus"] == "FAILED"
    assert found["errorMessage"] == f"1 of {len(listed)} batches failed."
    assert sorted(b["status"] for b in listed) == ["COMPLETED"] * (len(listed) - 1) + ["FAILED"]
    failed = [b for b in listed if b["status"] == "FAILED"]
    assert "not authorized" in failed[0]["errorMessage"]
    assert "2026" not in failed[0]["batchId"]  # batches carry no time range, as in AWS
    written = sorted(events_by_day(filled))
    assert "2026-01-06" not in written and {"2026-01-05", "2026-01-07"} <= set(written)
    assert len(written) == len(listed) - 1
    only_failed = filled.client("logs").describe_import_task_batches(
        importId=created["importId"], batchImportStatus=["FAILED"]
    )["importBatches"]
    assert only_failed == failed


def test_a_key_the_role_may_not_use_fails_every_batch_of_a_keyed_store(
    filled: SandboxClient,
) -> None:
    from reconciler.sandbox.backend import lake_backends
    from reconciler.sandbox.seed import ACCOUNT

    filled.config(export_kms_denied=True)
    assert task(filled, export(filled)["importId"])["importStatus"] == "COMPLETED"  # no key
    before = log_groups(filled)[GROUP]["events_copied"]
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    lake_backends[ACCOUNT]["us-east-1"].stores[STORE].kms_key_id = key
    created = export(filled, importFilter=JAN_5_6)
    found = task(filled, created["importId"])
    listed = batches(filled, created["importId"])
    assert found["importStatus"] == "FAILED" and listed
    assert all(b["status"] == "FAILED" and key in b["errorMessage"] for b in listed)
    assert log_groups(filled)[GROUP]["events_copied"] == before > 0  # nothing more copied


def test_three_active_tasks_per_account_and_cancel(filled: SandboxClient) -> None:
    filled.config(export_batch_seconds=600)  # nothing finishes during the test
    ids = [export(filled, importFilter=JAN_5_6)["importId"] for _ in range(3)]
    with pytest.raises(ClientError) as refused:
        export(filled)
    assert error_code(refused) == "InvalidOperationException"
    assert "3 active" in str(refused.value)
    logs = filled.client("logs")
    cancelled = logs.cancel_import_task(importId=ids[0])
    assert cancelled["importStatus"] == "CANCELLED"
    assert {b["status"] for b in batches(filled, ids[0])} == {"CANCELLED"}
    with pytest.raises(ClientError) as twice:
        logs.cancel_import_task(importId=ids[0])
    assert error_code(twice) == "InvalidOperationException"
    export(filled)  # a slot is free again
    active = logs.describe_import_tasks(importStatus="IN_PROGRESS")["imports"]
    assert len(active) == 3


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"importFilter": {"startEventTime": ms("2022-12-31T00:00:00")}},
         "InvalidParameterException", "before 2023"),
        ({"importFilter": {"startEventTime": JAN_5_6["endEventTime"],
                           "endEventTime": JAN_5_6["startEventTime"]}},
         "InvalidParameterException", "after endEventTime"),
        ({"importSourceArn": STORE.replace("us-east-1", "us-west-2")},
         "ResourceNotFoundException", "not found"),
        ({"role": "arn:aws:iam::123456789012:role/nobody"}, "InvalidParameterException",
         "does not trust"),
    ],
)  # fmt: skip
def test_refusals_start_nothing(
    filled: SandboxClient, changes: dict[str, Any], code: str, words: str
) -> None:
    logs = filled.client("logs")
    with pytest.raises(ClientError) as refused:
        if "importSourceArn" in changes:
            logs.create_import_task(importRoleArn=ROLE, **changes)
        else:
            export(filled, **changes)
    assert (error_code(refused), words in str(refused.value)) == (code, True)
    assert logs.describe_import_tasks()["imports"] == []


def test_a_store_being_deleted_cannot_be_exported(filled: SandboxClient) -> None:
    filled.hook("store-status", {"arn": STORE, "status": "PENDING_DELETION"})
    with pytest.raises(ClientError) as refused:
        export(filled)
    assert error_code(refused) == "InvalidOperationException"


def test_outside_retention_is_refused(filled: SandboxClient) -> None:
    cloudtrail = filled.client("cloudtrail")
    cloudtrail.update_event_data_store(EventDataStore=STORE, RetentionPeriod=7)
    with pytest.raises(ClientError) as refused:
        export(filled, importFilter=JAN_5_6)
    assert "retention" in str(refused.value)


def test_a_lost_create_response_leaves_the_task_running(filled: SandboxClient) -> None:
    filled.config(lose_start_responses=1.0, fault_seed=1)
    with pytest.raises(ClientError) as lost:
        export(filled, importFilter=JAN_5_6)
    assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    filled.config(lose_start_responses=0.0)
    listed = filled.client("logs").describe_import_tasks(importSourceArn=STORE)["imports"]
    assert len(listed) == 1 and listed[0]["importFilter"] == JAN_5_6


def test_paging_of_tasks(filled: SandboxClient) -> None:
    filled.config(export_batch_seconds=0)
    ids = [export(filled, importFilter=JAN_5_6)["importId"] for _ in range(5)]
    logs, seen, token = filled.client("logs"), [], None
    while True:
        page = logs.describe_import_tasks(limit=2, **({"nextToken": token} if token else {}))
        seen += [item["importId"] for item in page["imports"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == ids


def test_the_reader_walks_every_page_and_keeps_milliseconds(filled: SandboxClient) -> None:
    from reconciler.aws.accounts import Connections
    from reconciler.exportspec import ExportIdentity
    from reconciler.sandbox import seed

    hour = {"startEventTime": ms("2026-01-05T10:00:00"),
            "endEventTime": ms("2026-01-05T10:59:59") + 999}  # fmt: skip
    filled.config(export_failing_days=["2026-01-05"])
    ids = [export(filled, importFilter=hour)["importId"] for _ in range(53)]  # > 50: two pages
    reader = Connections(endpoint_url=filled.endpoint_url, region="us-east-1").exports(seed.ACCOUNT)
    tasks = reader.list_tasks("us-east-1", source=STORE)
    assert [task.import_id for task in tasks] == ids
    assert reader.calls["DescribeImportTasks"] == 2
    first = tasks[0]
    assert first.identity == ExportIdentity(
        STORE,
        datetime(2026, 1, 5, 10, tzinfo=UTC),
        datetime(2026, 1, 5, 10, 59, 59, 999000, tzinfo=UTC),
    )
    assert (first.status, first.active, first.account) == ("FAILED", False, seed.ACCOUNT)
    assert first.error == "1 of 1 batches failed."
    (batch,) = reader.batches("us-east-1", first.import_id)
    assert batch.status == "FAILED" and batch.error and "not authorized" in batch.error
    assert reader.list_tasks("us-west-2") == []
