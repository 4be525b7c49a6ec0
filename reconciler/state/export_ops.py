"""`status` and `failures` for the exports recorded in state (read-only, no lock).

A task's live status comes from DescribeImportTasks (one walk per store and Region); a
record with an intent but no importId (an answer lost) shows as PENDING. A task's failures
are its FAILED batches (DescribeImportTaskBatches): AWS gives them no time range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from reconciler.errors import UsageError
from reconciler.fields import arn_parts, format_time_ms
from reconciler.observed_exports import ObservedBatch, ObservedExport
from reconciler.ports import ExportReader
from reconciler.state.document import ExportRecordState

ExportReaderFor = Callable[[str], ExportReader]


@dataclass(frozen=True)
class ExportStatusRow:
    name: str
    import_id: str | None
    status: str
    bytes_imported: int | None
    updated: datetime | None
    account: str
    region: str
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "export",
            "name": self.name,
            "import_id": self.import_id,
            "status": self.status,
            "bytes_imported": self.bytes_imported,
            "updated": format_time_ms(self.updated) if self.updated else None,
            "account": self.account,
            "region": self.region,
            "note": self.note,
        }


def export_status(
    records: Iterable[ExportRecordState], reader_for: ExportReaderFor
) -> list[ExportStatusRow]:
    rows = []
    listed: dict[tuple[str, str, str], dict[str, ObservedExport]] = {}
    for record in records:
        account, region = arn_parts(record.identity.source)
        if record.import_id is None:
            since = format_time_ms(record.intent_at) if record.intent_at else "unknown"
            rows.append(
                ExportStatusRow(
                    record.name,
                    None,
                    "PENDING",
                    None,
                    None,
                    account,
                    region,
                    f"CreateImportTask sent at {since}; its answer was not recorded "
                    "(the next plan settles it)",
                )
            )
            continue
        key = (account, region, record.identity.source)
        if key not in listed:
            tasks = reader_for(account).list_tasks(region, source=record.identity.source)
            listed[key] = {task.import_id: task for task in tasks}
        task = listed[key].get(record.import_id)
        if task is None:
            rows.append(
                ExportStatusRow(
                    record.name,
                    record.import_id,
                    "MISSING",
                    None,
                    None,
                    account,
                    region,
                    "no such task is listed any more",
                )
            )
            continue
        rows.append(
            ExportStatusRow(
                record.name,
                task.import_id,
                task.status,
                task.bytes_imported,
                task.updated,
                account,
                region,
                task.error or "",
            )
        )
    return rows


def export_failures(
    record: ExportRecordState, reader_for: ExportReaderFor
) -> tuple[ObservedBatch, ...]:
    """The task's FAILED batches (every page)."""
    if record.import_id is None:
        raise UsageError(
            f"export {record.name} has no importId yet (its CreateImportTask answer was not "
            f"recorded), so there are no batches to list. `reconcile status {record.name}` "
            "shows where it stands."
        )
    account, region = arn_parts(record.identity.source)
    batches = reader_for(account).batches(region, record.import_id)
    return tuple(batch for batch in batches if batch.status == "FAILED")
