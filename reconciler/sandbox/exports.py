"""CloudWatch Logs import tasks from event data stores: the way out of CloudTrail Lake.

`CreateImportTask` copies the events a sandbox store holds (those its imports ingested) into
the managed log group AWS names `aws/cloudtrail/<store ID>`, in batches by day of eventTime
(DOMAIN.md, "Sandbox choices": a batch is atomic, a FAILED one wrote none of its events).
Like imports, tasks advance on reads; every batch takes `export_batch_seconds`. The events
are written through moto's Logs backend, not its PutLogEvents API (which drops events older
than 14 days), so `aws logs filter-log-events` against the sandbox shows what was copied.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from reconciler.sandbox import reader
from reconciler.sandbox.backend import LOCK, clock, lake_backends, locked
from reconciler.sandbox.config import CONFIG
from reconciler.sandbox.errors import _error
from reconciler.sandbox.paging import decode_token, encode_token
from reconciler.sandbox.progress import FileFailed
from reconciler.sandbox.stores import ARN_PATTERN, EventDataStore, HeldEvent

# The CloudWatch Logs error codes these operations answer with (botocore's model lists them).
InvalidParameter = _error("InvalidParameterException")
InvalidOperation = _error("InvalidOperationException")
ResourceNotFound = _error("ResourceNotFoundException")

MAX_ACTIVE_PER_ACCOUNT = 3  # AWS's documented quota of active import tasks
EXPORTABLE_STATUSES = ("ENABLED", "STOPPED_INGESTION")
EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)  # AWS's migration guide: nothing before 2023
DAY_MS = 86_400_000
IN_PROGRESS, COMPLETED, FAILED, CANCELLED = "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"


def log_group_name(store_arn: str) -> str:
    return "aws/cloudtrail/" + store_arn.rsplit("/", 1)[-1]


@dataclass
class Batch:
    batch_id: str  # opaque, as AWS's: no time range can be read from it
    day: str  # YYYY-MM-DD of eventTime (UTC); the sandbox's own bookkeeping only
    events: list[HeldEvent]
    status: str = IN_PROGRESS
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = {"batchId": self.batch_id, "status": self.status}
        if self.error:
            result["errorMessage"] = self.error
        return result


@dataclass
class ExportTask:
    import_id: str
    source_arn: str
    role_arn: str
    start_ms: int | None
    end_ms: int | None
    destination_arn: str
    created: float
    batches: list[Batch]
    status: str = IN_PROGRESS
    updated: float = 0.0
    bytes_imported: int = 0
    error: str | None = None
    processed: int = 0  # batches finished (written, failed or cancelled)

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "importId": self.import_id,
            "importSourceArn": self.source_arn,
            "importStatus": self.status,
            "importDestinationArn": self.destination_arn,
            "importStatistics": {"bytesImported": self.bytes_imported},
            "creationTime": int(self.created * 1000),
            "lastUpdatedTime": int((self.updated or self.created) * 1000),
        }
        bounds = {"startEventTime": self.start_ms, "endEventTime": self.end_ms}
        if any(value is not None for value in bounds.values()):
            result["importFilter"] = {k: v for k, v in bounds.items() if v is not None}
        if self.error:
            result["errorMessage"] = self.error
        return result


@dataclass
class LogsCopy:
    """What the sandbox wrote into one log group: eventID -> copies, for duplicate counts."""

    copies: Counter[str] = field(default_factory=Counter)


class ExportBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.tasks: dict[str, ExportTask] = {}
        self.order: list[ExportTask] = []
        self.copied: dict[str, LogsCopy] = {}  # log group name -> what was written

    # ---- the four operations -----------------------------------------------------------

    @locked
    def create_import_task(self, params: dict[str, Any]) -> ExportTask:
        source = _required(params, "importSourceArn")
        role = _required(params, "importRoleArn")
        store = self._store(source)
        if store.status not in EXPORTABLE_STATUSES:
            raise InvalidOperation(
                f"The event data store {source} is {store.status}; an import task needs it "
                f"{' or '.join(EXPORTABLE_STATUSES)}."
            )
        if not reader.role_trusts_cloudtrail(self.account_id, role):
            raise InvalidParameter(
                f"CloudWatch Logs cannot use role {role}: it does not exist or does not trust "
                "cloudtrail.amazonaws.com."
            )
        start_ms, end_ms = _filter(params.get("importFilter"), store, clock())
        if self.active_in_account() >= MAX_ACTIVE_PER_ACCOUNT:
            raise InvalidOperation(
                f"Account {self.account_id} already has {MAX_ACTIVE_PER_ACCOUNT} active import "
                "tasks; wait for one to finish or cancel one."
            )
        now = clock()
        import_id = str(uuid.uuid4())
        task = ExportTask(
            import_id=import_id,
            source_arn=store.arn,
            role_arn=role,
            start_ms=start_ms,
            end_ms=end_ms,
            destination_arn=(
                f"arn:aws:logs:{self.region_name}:{self.account_id}:log-group:"
                f"{log_group_name(store.arn)}"
            ),
            created=now,
            updated=now,
            batches=_batches(import_id, store, start_ms, end_ms),
        )
        self.tasks[import_id] = task
        self.order.append(task)
        self._ensure_log_group(task)
        return task

    @locked
    def describe_import_tasks(self, params: dict[str, Any]) -> tuple[list[ExportTask], str | None]:
        import_id, status = params.get("importId"), params.get("importStatus")
        source = params.get("importSourceArn")
        if status is not None and status not in (IN_PROGRESS, COMPLETED, FAILED, CANCELLED):
            raise InvalidParameter(f"Unknown importStatus {status}.")
        size = _limit(params.get("limit"))
        position = decode_token(params.get("nextToken"), "tasks")
        if import_id is not None and import_id not in self.tasks:
            raise ResourceNotFound(f"Import task {import_id} not found.")
        page: list[ExportTask] = []
        while position < len(self.order) and len(page) < size:
            task = self.order[position]
            position += 1
            self.advance(task)
            if import_id is not None and task.import_id != import_id:
                continue
            if status is not None and task.status != status:
                continue
            if source is not None and task.source_arn != source:
                continue
            page.append(task)
        more = position < len(self.order)
        return page, encode_token("tasks", position) if more else None

    @locked
    def describe_import_task_batches(
        self, params: dict[str, Any]
    ) -> tuple[ExportTask, list[Batch], str | None]:
        task = self._task(_required(params, "importId"))
        self.advance(task)
        wanted = params.get("batchImportStatus") or None
        size = _limit(params.get("limit"))
        start = decode_token(params.get("nextToken"), "batches")
        matching = [batch for batch in task.batches if wanted is None or batch.status in wanted]
        page = matching[start : start + size]
        more = start + size < len(matching)
        return task, page, encode_token("batches", start + size) if more else None

    @locked
    def cancel_import_task(self, import_id: str | None) -> ExportTask:
        task = self._task(import_id or "")
        self.advance(task)
        if task.status != IN_PROGRESS:
            raise InvalidOperation(f"Import task {task.import_id} is {task.status}, not active.")
        for batch in task.batches[task.processed :]:
            batch.status = CANCELLED
        task.processed = len(task.batches)
        task.status, task.updated = CANCELLED, clock()
        return task

    # ---- progress ------------------------------------------------------------------------

    def advance(self, task: ExportTask) -> None:
        """Finish every batch whose time has come: batch i ends `export_batch_seconds` x
        (i + 1) after creation; the task ends with its last batch."""
        if task.status != IN_PROGRESS:
            return
        now = clock()
        pace = max(CONFIG.export_batch_seconds, 0.0)
        while task.processed < len(task.batches):
            finishes = task.created + pace * (task.processed + 1)
            if finishes > now:
                return
            batch = task.batches[task.processed]
            self._run(task, batch)
            task.processed += 1
            task.updated = finishes
        failed = sum(batch.status == FAILED for batch in task.batches)
        task.status = FAILED if failed else COMPLETED
        if failed:
            task.error = f"{failed} of {len(task.batches)} batches failed."
        task.updated = max(task.updated, task.created)

    def _run(self, task: ExportTask, batch: Batch) -> None:
        store = lake_backends[self.account_id][self.region_name].stores.get(task.source_arn)
        if CONFIG.export_kms_denied and store is not None and store.kms_key_id:
            batch.status = FAILED
            batch.error = (
                f"KMSAccessDeniedException: {task.role_arn} is not allowed kms:Decrypt on "
                f"{store.kms_key_id} (the sandbox's export_kms_denied)."
            )
            return
        if batch.day in CONFIG.export_failing_days:
            batch.status = FAILED
            batch.error = (
                f"AccessDeniedException: {task.role_arn} is not authorized to perform "
                "logs:CreateLogStream (the sandbox fails this batch on purpose)."
            )
            return
        counts: Counter[str] = store.ingested if store else Counter()
        messages = _messages(self.account_id, batch.events)
        rows: list[dict[str, Any]] = [
            {"timestamp": event.time_ms, "message": messages[event.event_id]}
            for event in sorted(batch.events, key=lambda e: (e.time_ms, e.event_id))
            for _ in range(counts.get(event.event_id, 1))  # the store's copies, all of them
        ]
        self._write(task, batch, rows)
        copied = self.copied.setdefault(log_group_name(task.source_arn), LogsCopy())
        for event in batch.events:
            copied.copies[event.event_id] += counts.get(event.event_id, 1)
        task.bytes_imported += sum(len(str(row["message"])) for row in rows)
        batch.status = COMPLETED

    def _ensure_log_group(self, task: ExportTask) -> None:
        from moto.logs.models import logs_backends

        logs_backends[self.account_id][self.region_name].ensure_log_group(
            log_group_name(task.source_arn)
        )

    def _write(self, task: ExportTask, batch: Batch, rows: list[dict[str, Any]]) -> None:
        from moto.logs.models import LogStream, logs_backends

        group = logs_backends[self.account_id][self.region_name].groups[
            log_group_name(task.source_arn)
        ]
        name = f"{task.import_id}/{batch.batch_id}"
        group.streams.setdefault(name, LogStream(group, name))
        if rows:
            group.put_log_events(name, rows)  # the group's, not the API's 14-day check

    # ---- helpers -------------------------------------------------------------------------

    def active_in_account(self) -> int:
        count = 0
        for backend in export_backends[self.account_id].values():
            for task in backend.order:
                backend.advance(task)
                count += task.status == IN_PROGRESS
        return count

    def _store(self, arn: str) -> EventDataStore:
        match = ARN_PATTERN.match(arn)
        if match is None:
            raise InvalidParameter(f"importSourceArn {arn} is not an event data store ARN.")
        if match["account"] != self.account_id or match["region"] != self.region_name:
            raise ResourceNotFound(f"Event data store {arn} not found in this account/Region.")
        store = lake_backends[self.account_id][self.region_name].stores.get(arn)
        if store is None:
            raise ResourceNotFound(f"Event data store {arn} not found.")
        return store

    def _task(self, import_id: str) -> ExportTask:
        task = self.tasks.get(import_id)
        if task is None:
            raise ResourceNotFound(f"Import task {import_id} not found.")
        return task


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{name} is required.")
    return value


def _limit(value: Any) -> int:
    if value is None:
        return 50
    if not 1 <= int(value) <= 50:
        raise InvalidParameter("limit must be between 1 and 50.")
    return int(value)


def _filter(given: Any, store: EventDataStore, now: float) -> tuple[int | None, int | None]:
    """The filter's bounds in ms; refused outside the store's retention, before 2023, or
    reversed (sandbox choices where AWS documents the rule but not the error)."""
    given = given or {}
    start, end = given.get("startEventTime"), given.get("endEventTime")
    for name, value in (("startEventTime", start), ("endEventTime", end)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidParameter(f"{name} must be milliseconds since the epoch.")
    if start is not None and end is not None and start > end:
        raise InvalidParameter("startEventTime is after endEventTime.")
    oldest = datetime.fromtimestamp(now, UTC) - timedelta(days=store.retention_days)
    if start is not None:
        begins = datetime.fromtimestamp(start / 1000, UTC)
        if begins < EARLIEST:
            raise InvalidParameter("Events from before 2023 cannot be imported into CloudWatch.")
        if begins < oldest:
            raise InvalidParameter(
                f"startEventTime is outside the retention of {store.arn} "
                f"({store.retention_days} days)."
            )
    return start, end


def _batches(
    import_id: str, store: EventDataStore, start_ms: int | None, end_ms: int | None
) -> list[Batch]:
    """The store's events in range, one batch per day of eventTime, oldest day first."""
    floor = int(EARLIEST.timestamp() * 1000)
    by_day: dict[str, list[HeldEvent]] = defaultdict(list)
    for event in store.held.values():
        if event.time_ms < floor:
            continue
        if (start_ms is not None and event.time_ms < start_ms) or (
            end_ms is not None and event.time_ms > end_ms
        ):
            continue
        day = datetime.fromtimestamp(event.time_ms / 1000, UTC).strftime("%Y-%m-%d")
        by_day[day].append(event)
    return [
        Batch(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{import_id}/{day}")), day, by_day[day])
        for day in sorted(by_day)
    ]


def _messages(account: str, events: list[HeldEvent]) -> dict[str, str]:
    """Each event's body, read again from the file it was imported from; a file gone since
    leaves a body of the fields the store kept."""
    by_file: dict[tuple[str, str], list[HeldEvent]] = defaultdict(list)
    for event in events:
        by_file[(event.bucket, event.key)].append(event)
    bodies: dict[str, str] = {}
    for (bucket, key), held in by_file.items():
        records = reader.read_records(account, bucket, key)
        found = {} if isinstance(records, FileFailed) else {
            record.get("eventID"): record for record in records
        }  # fmt: skip
        for event in held:
            record = found.get(event.event_id) or {
                "eventID": event.event_id,
                "eventTime": datetime.fromtimestamp(event.time_ms / 1000, UTC).isoformat(),
            }
            bodies[event.event_id] = json.dumps(record, separators=(",", ":"), sort_keys=True)
    return bodies


def log_group_stats() -> list[dict[str, Any]]:
    """Per log group the sandbox wrote: events copied, and copies beyond what the store holds
    (an event exported twice)."""
    rows = []
    with LOCK:
        for account, regions in list(export_backends.items()):
            for region, backend in list(regions.items()):
                for task in backend.order:
                    backend.advance(task)
                lake = lake_backends[account][region]
                for name, copy in sorted(backend.copied.items()):
                    store = next(
                        (s for s in lake.stores.values() if log_group_name(s.arn) == name), None
                    )
                    held = store.ingested if store else Counter()
                    extra = {
                        event_id: count - held.get(event_id, 1)
                        for event_id, count in copy.copies.items()
                        if count > held.get(event_id, 1)
                    }
                    rows.append({
                        "account": account, "region": region, "log_group": name,
                        "events_copied": sum(copy.copies.values()),
                        "distinct_event_ids": len(copy.copies),
                        "event_ids_copied_twice": len(extra),
                        "duplicate_events": sum(extra.values()),
                    })  # fmt: skip
    return rows


export_backends: BackendDict[ExportBackend] = BackendDict(ExportBackend, "logs")
