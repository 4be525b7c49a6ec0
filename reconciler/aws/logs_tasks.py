"""CloudWatch Logs import-task reads (DescribeImportTasks, DescribeImportTaskBatches), turned
into plain data from `reconciler.observed_exports`.

Both operations page with `limit` (at most 50) and `nextToken`; botocore has no paginator
for them, so the pages are walked here. Read calls keep botocore's standard retries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory
from reconciler.aws.writer import send_once
from reconciler.fields import epoch_ms
from reconciler.observed_exports import ObservedBatch, ObservedExport
from reconciler.outcomes import StartResult
from reconciler.ports import StartOutcome

PAGE_LIMIT = 50  # the API's maximum
# Events per UTC day, as CloudWatch Logs Insights counts them (an export's @timestamp is the
# event's eventTime).
# CreateImportTask's own refusals (botocore's model lists them): AWS said no, nothing started.
REFUSALS = frozenset(
    {
        "AccessDeniedException", "ConflictException", "InvalidParameterException",
        "ResourceNotFoundException", "ThrottlingException", "ValidationException",
        "InvalidOperationException", "LimitExceededException",
    }
)  # fmt: skip
DAILY_COUNT_QUERY = "stats count(*) as events by datefloor(@timestamp, 1d) as day"


def from_epoch_ms(value: Any) -> datetime | None:
    """The API's epoch milliseconds as aware UTC, to the millisecond (botocore gives ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    whole = int(value)
    return datetime.fromtimestamp(whole // 1000, UTC) + timedelta(milliseconds=whole % 1000)


class ExportTaskReader:
    """Read calls of one account; clients per Region come from the run's factory."""

    def __init__(self, factory: ClientFactory, account: str) -> None:
        self.factory = factory
        self.account = account
        self.calls: dict[str, int] = {}

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def list_tasks(self, region: str, source: str | None = None) -> list[ObservedExport]:
        """Every import task in the Region (or from one store), every page."""
        client = self.factory.client("logs", region)
        found: list[ObservedExport] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE_LIMIT}
            if source is not None:
                kwargs["importSourceArn"] = source
            if token:
                kwargs["nextToken"] = token
            self._count("DescribeImportTasks")
            page = call("DescribeImportTasks", partial(client.describe_import_tasks, **kwargs))
            found.extend(self._observed(item, region) for item in page.get("imports", []))
            token = page.get("nextToken")
            if not token:
                return found

    def batches(self, region: str, import_id: str) -> tuple[ObservedBatch, ...]:
        client = self.factory.client("logs", region)
        found: list[ObservedBatch] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"importId": import_id, "limit": PAGE_LIMIT}
            if token:
                kwargs["nextToken"] = token
            self._count("DescribeImportTaskBatches")
            page = call(
                "DescribeImportTaskBatches", partial(client.describe_import_task_batches, **kwargs)
            )
            found.extend(
                ObservedBatch(
                    batch_id=str(item["batchId"]),
                    status=str(item.get("status", "UNKNOWN")),
                    error=item.get("errorMessage"),
                )
                for item in page.get("importBatches", [])
            )
            token = page.get("nextToken")
            if not token:
                return tuple(found)

    def events_per_day(
        self,
        region: str,
        log_group: str,
        start: datetime | None,
        end: datetime | None,
        timeout: float = 120.0,
    ) -> dict[str, int]:
        """Events the log group holds per UTC day of their timestamp (eventTime, for an
        export) within [start, end]: one CloudWatch Logs Insights query, polled to its end."""
        import time

        client = self.factory.client("logs", region)
        begin = int(start.timestamp()) if start else 0
        # Insights takes whole seconds: round the end up, so its last second is counted
        finish = -int(-end.timestamp() // 1) if end else int(time.time()) + 86_400
        self._count("StartQuery")
        started = call(
            "StartQuery",
            partial(
                client.start_query,
                logGroupName=log_group,
                startTime=begin,
                endTime=finish,
                queryString=DAILY_COUNT_QUERY,
                limit=10_000,
            ),
        )
        deadline = time.monotonic() + timeout
        while True:
            self._count("GetQueryResults")
            found = call(
                "GetQueryResults", partial(client.get_query_results, queryId=started["queryId"])
            )
            status = found.get("status")
            if status == "Complete":
                break
            if status not in ("Scheduled", "Running") or time.monotonic() > deadline:
                raise AwsCallError(
                    f"the Logs Insights query counting {log_group}'s events per day ended "
                    f"{status or 'without a status'}",
                    code=str(status),
                    operation="GetQueryResults",
                )
            time.sleep(0.5)
        days: dict[str, int] = {}
        for row in found.get("results", []):
            cells = {cell.get("field"): cell.get("value") for cell in row}
            day, events = cells.get("day"), cells.get("events")
            if day and events is not None:
                days[str(day)[:10]] = days.get(str(day)[:10], 0) + int(float(events))
        return days

    def _observed(self, item: dict[str, Any], region: str) -> ObservedExport:
        window = item.get("importFilter") or {}
        statistics = item.get("importStatistics") or {}
        return ObservedExport(
            import_id=str(item["importId"]),
            status=str(item.get("importStatus", "UNKNOWN")),
            account=self.account,
            region=region,
            source=item.get("importSourceArn"),
            start=from_epoch_ms(window.get("startEventTime")),
            end=from_epoch_ms(window.get("endEventTime")),
            destination_arn=item.get("importDestinationArn"),
            bytes_imported=statistics.get("bytesImported"),
            created=from_epoch_ms(item.get("creationTime")),
            updated=from_epoch_ms(item.get("lastUpdatedTime")),
            error=item.get("errorMessage"),
        )


class ExportTaskWriter:
    """CreateImportTask, never retried (no client token: sent twice, it copies twice), with
    its outcome classified as StartImport's is (aws/writer.py): started, refused (nothing
    started: a 4xx such as the 3-active quota or throttling), or unknown (5xx, timeout, lost
    connection: the task may exist). A connection never made counts as refused."""

    def __init__(self, factory: ClientFactory) -> None:
        self.factory = factory

    def create_task(
        self,
        region: str,
        source: str,
        role_arn: str,
        start: datetime | None,
        end: datetime | None,
    ) -> StartOutcome:
        window = {
            key: epoch_ms(moment)
            for key, moment in (("startEventTime", start), ("endEventTime", end))
            if moment is not None
        }
        params: dict[str, Any] = {"importSourceArn": source, "importRoleArn": role_arn}
        if window:
            params["importFilter"] = window
        client = self.factory.client("logs", region, retries="start_import")
        response = send_once(lambda: client.create_import_task(**params), _classify)
        if isinstance(response, StartOutcome):
            return response
        return StartOutcome(StartResult.STARTED, import_id=str(response["importId"]))

    def cancel_task(self, region: str, import_id: str) -> str:
        client = self.factory.client("logs", region)
        response = call("CancelImportTask", partial(client.cancel_import_task, importId=import_id))
        return str(response.get("importStatus", "CANCELLED"))


def _classify(exc: Any) -> StartOutcome:
    """AWS's answer to CreateImportTask: only the service's own 4xx refusals prove nothing
    started. A 5xx, or an answer that is not the service's (a proxy's 4xx, no status): the
    task may exist, so the intent stays for the next plan to settle."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if 400 <= status < 500 and code in REFUSALS:
        return StartOutcome(StartResult.REFUSED, code=code, message=message)
    return StartOutcome(StartResult.UNKNOWN, code=code, message=f"HTTP {status or '?'}: {message}")
