"""How each apply step changes a state record: pure functions, no I/O.

The applier writes the result of each of these (atomically, fsynced) before it does the next
thing, so that a crash at any moment leaves a state from which plan decides correctly:
`intent` before StartImport, `started` right after it, and so on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from reconciler.fields import parse_time
from reconciler.outcomes import AttemptKind, StartResult
from reconciler.plan.types import Action, ActionKind, Progress
from reconciler.spec import ImportSpec, spec_hash
from reconciler.state.document import Attempt, ImportRecord, Intent

_FINAL = "COMPLETED"


def _statistics(progress: Progress | None) -> dict[str, int] | None:
    if progress is None:
        return None
    pairs = {
        "PrefixesFound": progress.prefixes_found,
        "PrefixesCompleted": progress.prefixes_completed,
        "FilesCompleted": progress.files_completed,
        "EventsCompleted": progress.events_completed,
        "FailedEntries": progress.failed_entries,
    }
    return {key: value for key, value in pairs.items() if value is not None}


def from_spec(spec: ImportSpec, base: ImportRecord | None, now: datetime) -> ImportRecord:
    """The record with the manifest's current identity and attributes (history kept)."""
    values = {
        "name": spec.name,
        "manifest_file": spec.location.file,
        "identity": spec.identity,
        "bucket_region": spec.bucket_region,
        "role_arn": spec.role_arn,
        "max_attempts": spec.retry.max_attempts,
        "retry_stopped": spec.retry.stopped,
        "spec_hash": spec_hash(spec),
        "updated_at": now,
    }
    if base is None:
        return ImportRecord(**values)  # type: ignore[arg-type]
    return replace(base, **values)  # type: ignore[arg-type]


def observed(record: ImportRecord, progress: Progress | None, now: datetime) -> ImportRecord:
    """Record what was seen of the import; COMPLETED details become final."""
    if progress is None:
        return record
    return replace(
        record,
        status=progress.status,
        statistics=_statistics(progress),
        final=progress.status == _FINAL,
        updated_at=now,
        aws_updated_at=parse_time(progress.updated) if progress.updated else record.aws_updated_at,
    )


def adopted(
    spec: ImportSpec, action: Action, base: ImportRecord | None, now: datetime
) -> ImportRecord:
    """Take an import found in AWS; if it answers an intent of ours, that start succeeded."""
    record = from_spec(spec, base, now)
    if record.intent is not None and action.import_id:
        record = replace(
            record,
            attempts=_last_attempt(record, outcome=StartResult.STARTED, import_id=action.import_id),
        )
    record = replace(record, import_id=action.import_id, intent=None)
    # What the import was started with (the plan shows it as a change), not the manifest's.
    started_with = {change.field: change.before for change in action.changes}
    if isinstance(started_with.get("role_arn"), str):
        record = replace(record, role_arn=started_with["role_arn"])
    if isinstance(started_with.get("bucket_region"), str):
        record = replace(record, bucket_region=started_with["bucket_region"])
    return observed(record, action.progress, now)


def refreshed(
    spec: ImportSpec, action: Action, record: ImportRecord, now: datetime
) -> ImportRecord:
    """noop/running/attention: record what was observed. Only a noop (identity unchanged,
    COMPLETED) takes the manifest's new attributes; an unfinished import keeps the role it
    started with (a retry uses it), and an attention is never written over: its identity
    change, say, must stay visible until someone confirms it."""
    updated = observed(record, action.progress, now)
    if action.action is ActionKind.NOOP and updated.status == _FINAL:
        if spec.identity != record.identity:  # cannot happen for a noop; never risk it
            return updated
        return from_spec(spec, updated, now)
    return updated


def intent(
    spec: ImportSpec, kind: AttemptKind, record: ImportRecord | None, now: datetime
) -> ImportRecord:
    """Write-ahead before StartImport: the intent, and an attempt whose outcome is unknown
    until AWS answers (it counts against max_attempts if the answer never comes)."""
    base = (
        from_spec(spec, record, now) if kind is not AttemptKind.RETRY or record is None else record
    )
    if kind is not AttemptKind.RETRY:
        base = replace(base, import_id=None, status=None, statistics=None, final=False)
    attempt = Attempt(at=now, kind=kind, outcome=StartResult.UNKNOWN, import_id=base.import_id)
    return replace(
        base,
        intent=Intent(kind=kind, at=now, import_id=base.import_id),
        attempts=(*base.attempts, attempt),
        next_retry_at=None,
        updated_at=now,
    )


def _last_attempt(record: ImportRecord, **changes: object) -> tuple[Attempt, ...]:
    if not record.attempts:
        return record.attempts
    return (*record.attempts[:-1], replace(record.attempts[-1], **changes))  # type: ignore[arg-type]


def started(
    record: ImportRecord, import_id: str, status: str | None, now: datetime
) -> ImportRecord:
    return replace(
        record,
        import_id=import_id,
        status=status or "INITIALIZING",
        statistics=None,
        final=False,
        intent=None,
        attempts=_last_attempt(record, outcome=StartResult.STARTED, import_id=import_id),
        updated_at=now,
    )


def refused(
    record: ImportRecord, error: str, now: datetime, code: str | None = None
) -> ImportRecord:
    """AWS turned the call away before starting anything; it does not count as an attempt."""
    return replace(
        record,
        intent=None,
        attempts=_last_attempt(record, outcome=StartResult.REFUSED, error=error, code=code),
        updated_at=now,
    )


def rejected(
    record: ImportRecord, error: str, now: datetime, code: str | None = None
) -> ImportRecord:
    """A request error: nothing started, but it counts (a bad source does not fix itself)."""
    return replace(
        record,
        intent=None,
        attempts=_last_attempt(record, outcome=StartResult.REJECTED, error=error, code=code),
        updated_at=now,
    )


def unknown(record: ImportRecord, error: str, now: datetime) -> ImportRecord:
    """No answer: the intent stays, so plan looks for the import by identity before anything
    else starts in that account and Region."""
    return replace(record, attempts=_last_attempt(record, error=error), updated_at=now)


def retry_due(record: ImportRecord, at: datetime | None) -> ImportRecord:
    return replace(record, next_retry_at=at)
