"""What AWS says of CloudWatch Logs import tasks (exports), as pure data (no boto3 here).

`DescribeImportTasks` returns each task whole (source, filter, status, bytes), so unlike an
import a task never lacks the fields its identity needs. It does not return the role.
`DescribeImportTaskBatches` lists a task's batches: status and error, no time range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reconciler.exportspec import ExportIdentity

TASK_ACTIVE = frozenset({"IN_PROGRESS"})
TASK_FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


@dataclass(frozen=True)
class ObservedBatch:
    batch_id: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class ObservedExport:
    import_id: str
    status: str
    account: str
    region: str
    source: str | None
    start: datetime | None = None
    end: datetime | None = None
    destination_arn: str | None = None
    bytes_imported: int | None = None
    created: datetime | None = None
    updated: datetime | None = None
    error: str | None = None
    batches: tuple[ObservedBatch, ...] | None = None  # None: not asked for
    identity: ExportIdentity | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identity = ExportIdentity(self.source, self.start, self.end) if self.source else None
        object.__setattr__(self, "identity", identity)

    @property
    def active(self) -> bool:
        return self.status in TASK_ACTIVE
