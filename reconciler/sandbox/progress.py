"""An import's state machine, advanced lazily from wall-clock time.

Nothing runs in the background: every request that looks at an import first calls `advance`,
which works out how many files should be finished by now (`speed` files per second after
`init_seconds` of INITIALIZING) and processes exactly those. So progress is deterministic for a
given clock, and a file's content is read when the file completes, as a real import would.
Times are epoch seconds; the times we record are the scheduled ones, not the request's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.source import directory_of

INITIALIZING = "INITIALIZING"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
STOPPED = "STOPPED"
ONGOING = frozenset({INITIALIZING, IN_PROGRESS})
ALL_STATUSES = frozenset({INITIALIZING, IN_PROGRESS, COMPLETED, FAILED, STOPPED})

PENDING, DONE = "PENDING", "DONE"  # plus FAILED, for a file


@dataclass(frozen=True)
class Pace:
    speed: float
    init_seconds: float


@dataclass(frozen=True)
class Ingested:
    events: int


@dataclass(frozen=True)
class FileFailed:
    error_type: str
    message: str


FileResult = Ingested | FileFailed
# (import, key, scheduled completion time) -> what processing that file did
Processor = Callable[["LakeImport", str, float], FileResult]
Lister = Callable[["LakeImport"], list[str]]


@dataclass
class FileEntry:
    key: str
    state: str = PENDING
    events: int = 0


@dataclass
class FailureEntry:
    location: str
    status: str  # FAILED, RETRY or SUCCEEDED
    error_type: str
    error_message: str
    updated: float

    def describe(self) -> dict[str, Any]:
        return {
            "Location": self.location,
            "Status": self.status,
            "ErrorType": self.error_type,
            "ErrorMessage": self.error_message,
            "LastUpdatedTime": _dt(self.updated),
        }


@dataclass
class LakeImport:
    import_id: str
    destination: str
    source: dict[str, str]  # the S3 part of ImportSource, as given
    bucket: str
    prefix: str
    start: datetime | None
    end: datetime | None
    created: float
    updated: float
    status: str = INITIALIZING
    files: list[FileEntry] | None = None  # fixed when first listed
    failures: dict[str, FailureEntry] = field(default_factory=dict)
    run_started: float = 0.0
    run_queue: list[int] = field(default_factory=list)
    run_done: int = 0
    # Only bulk-inserted imports: statistics given instead of computed from files.
    fixed_statistics: dict[str, int] | None = None

    @property
    def ongoing(self) -> bool:
        return self.status in ONGOING

    def statistics(self) -> dict[str, int]:
        if self.fixed_statistics is not None:
            return dict(self.fixed_statistics)
        files = self.files or []
        by_prefix: dict[str, bool] = {}
        for entry in files:
            prefix = directory_of(entry.key)
            by_prefix[prefix] = by_prefix.get(prefix, True) and entry.state == DONE
        return {
            "PrefixesFound": len(by_prefix),
            "PrefixesCompleted": sum(by_prefix.values()),
            "FilesCompleted": sum(entry.state == DONE for entry in files),
            "EventsCompleted": sum(entry.events for entry in files if entry.state == DONE),
            "FailedEntries": sum(item.status == FAILED for item in self.failures.values()),
        }

    def summary(self) -> dict[str, Any]:
        """The ListImports item: no source, no time range, no statistics (as in AWS)."""
        return {
            "ImportId": self.import_id,
            "ImportStatus": self.status,
            "Destinations": [self.destination],
            # epoch seconds, as the wire carries them (no datetime made and unmade per item)
            "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.updated,
        }

    def describe(self, with_statistics: bool = True) -> dict[str, Any]:
        result = self.summary()
        result["ImportSource"] = {"S3": dict(self.source)}
        if self.start is not None:
            result["StartEventTime"] = self.start
        if self.end is not None:
            result["EndEventTime"] = self.end
        if with_statistics:
            result["ImportStatistics"] = self.statistics()
        return result


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def begin_run(imp: LakeImport, now: float) -> None:
    """(Re)start: a retry queues only the files that failed or were never reached."""
    imp.status = INITIALIZING
    imp.run_started = now
    imp.updated = now
    imp.run_done = 0
    if imp.files is None:
        imp.run_queue = []
        return
    imp.run_queue = [i for i, entry in enumerate(imp.files) if entry.state != DONE]
    for index in imp.run_queue:
        imp.files[index].state = PENDING
    for failure in imp.failures.values():
        if failure.status == FAILED:
            failure.status = "RETRY"
            failure.updated = now


def advance(imp: LakeImport, now: float, pace: Pace, lister: Lister, process: Processor) -> None:
    """Bring an ongoing import up to `now`."""
    if not imp.ongoing:
        return
    in_progress_at = imp.run_started + pace.init_seconds
    if now < in_progress_at:
        return
    if imp.status == INITIALIZING:
        if imp.files is None:
            imp.files = [FileEntry(key) for key in lister(imp)]
            imp.run_queue = list(range(len(imp.files)))
        imp.status = IN_PROGRESS
        imp.updated = in_progress_at
    due = min(len(imp.run_queue), math.floor((now - in_progress_at) * pace.speed))
    files = imp.files or []
    while imp.run_done < due:
        index = imp.run_queue[imp.run_done]
        imp.run_done += 1
        at = in_progress_at + imp.run_done / pace.speed
        _complete_file(imp, files[index], process(imp, files[index].key, at), at)
        imp.updated = at
    if imp.run_done == len(imp.run_queue):
        any_failed = any(entry.state == FAILED for entry in files)
        imp.status = FAILED if any_failed else COMPLETED


def _complete_file(imp: LakeImport, entry: FileEntry, result: FileResult, at: float) -> None:
    location = f"s3://{imp.bucket}/{entry.key}"
    previous = imp.failures.get(location)
    if isinstance(result, Ingested):
        entry.state, entry.events = DONE, result.events
        if previous is not None:
            previous.status, previous.updated = "SUCCEEDED", at
        return
    entry.state, entry.events = FAILED, 0
    imp.failures[location] = FailureEntry(location, FAILED, result.error_type, result.message, at)


def stop(imp: LakeImport, now: float) -> None:
    if imp.ongoing:
        imp.status = STOPPED
        imp.updated = now
