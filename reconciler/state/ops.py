"""What the `status`, `failures` and `state ...` commands do, as plain functions.

Reading state takes no lock; changing it (`mv`, `rm`) takes the store's lock, reads the
document under it, and writes `doc.with_records(...)` (serial + 1), so a concurrent apply either
waits for us or makes us fail fast naming it. Live status asks AWS only where state cannot
answer: a `final` COMPLETED record already holds its last statistics (COMPLETED imports never
change), and a pending intent without an ImportId has nothing to ask about.

No click, rich or boto3 here: AWS is reached through the `reader_for(account)` callable the
CLI builds, so tests can pass a fake.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from reconciler.errors import CloudError, StateError, UsageError
from reconciler.fields import IMPORT_ID_RE, NAME_RE, arn_parts, format_time
from reconciler.observed import Failure, ObservedImport
from reconciler.outcomes import StartResult
from reconciler.state.document import Attempt, ExportRecordState, ImportRecord, StateDocument
from reconciler.state.store import StateStore

PENDING = "PENDING"  # shown for an intent that has no ImportId yet
NOT_STARTED = "NOT_STARTED"  # a record with neither ImportId nor intent
NOT_FOUND = "NOT_FOUND"  # GetImport says the recorded import no longer exists


class StatusReader(Protocol):
    """The part of `LakeReader` these commands use."""

    def get_import(self, region: str, import_id: str) -> ObservedImport: ...
    def list_failures(
        self, region: str, import_id: str, limit: int | None = None
    ) -> list[Failure]: ...


ReaderFor = Callable[[str], StatusReader]


# -- looking records up ---------------------------------------------------------------------


def place_of(record: ImportRecord) -> tuple[str, str]:
    """(account, Region) of a record: its destination ARN's."""
    try:
        return arn_parts(record.identity.destination)
    except ValueError:
        raise StateError(
            f"import {record.name} in state has destination {record.identity.destination!r}, "
            "which is not an event data store ARN; the state was edited by hand or is corrupt."
        ) from None


def find_record(document: StateDocument, name: str, source: str) -> ImportRecord:
    """The record named `name`, or a UsageError that says which names exist."""
    record = document.imports.get(name)
    if record is not None:
        return record
    if not document.exists:
        raise UsageError(
            f"no import named {name} in state {source}: that state does not exist yet (nothing "
            "has been applied with it). Pass --state PATH or set RECONCILE_STATE if your state "
            "is elsewhere."
        )
    close = difflib.get_close_matches(name, list(document.imports), n=1)
    suggestion = f" Did you mean {close[0]}?" if close else ""
    raise UsageError(
        f"no import named {name} in state {source}; `reconcile state list` shows the names."
        f"{suggestion}"
    )


def select_records(
    document: StateDocument, names: Sequence[str], source: str
) -> list[ImportRecord]:
    """The named records in the order given (duplicates once), or every record by name."""
    if not names:
        return [document.imports[name] for name in sorted(document.imports)]
    return [find_record(document, name, source) for name in dict.fromkeys(names)]


# -- changing state -------------------------------------------------------------------------


def move_record(
    store: StateStore, old: str, new: str, command: str, timeout: float = 0
) -> StateDocument:
    """Rename a record (same import, new manifest name); refuses when NEW is taken."""
    if not NAME_RE.match(new):
        raise UsageError(
            f"{new!r} is not a valid import name: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (the rule manifests follow)."
        )
    if old == new:
        raise UsageError(f"OLD and NEW are both {old}; nothing to move.")
    source = store.describe()
    with store.lock(command, timeout):
        document = store.read()
        if new in document.exports:
            raise UsageError(
                f"state {source} already has an export named {new}; names are shared by "
                "imports and exports. Nothing was changed; pick another name."
            )
        if old in document.exports and old not in document.imports:
            exports = {n: r for n, r in document.exports.items() if n != old}
            if new in document.imports:
                raise UsageError(
                    f"state {source} already has an import named {new}; names are shared by "
                    "imports and exports. Nothing was changed; pick another name."
                )
            exports[new] = replace(document.exports[old], name=new)
            return store.write(document.with_exports(exports))
        record = find_record(document, old, source)
        if new in document.imports:
            taken = document.imports[new]
            raise UsageError(
                f"state {source} already has an import named {new} (ImportId "
                f"{taken.import_id or 'none yet'}, from {taken.manifest_file}); nothing was "
                f"changed. Remove it first with `reconcile state rm {new}` if it is stale, or "
                "pick another name."
            )
        records = {name: rec for name, rec in document.imports.items() if name != old}
        records[new] = replace(record, name=new)
        return store.write(document.with_records(records))


def remove_export_record(
    store: StateStore, name: str, command: str, timeout: float = 0
) -> tuple[StateDocument, ExportRecordState]:
    """Forget an export's record (its task and what it copied stay); returns what was removed."""
    with store.lock(command, timeout):
        document = store.read()
        removed = document.exports[name]
        exports = {key: rec for key, rec in document.exports.items() if key != name}
        return store.write(document.with_exports(exports)), removed


def remove_record(
    store: StateStore, name: str, command: str, timeout: float = 0
) -> tuple[StateDocument, ImportRecord]:
    """Forget a record (the import and its events stay in the Lake); returns what was removed."""
    source = store.describe()
    with store.lock(command, timeout):
        document = store.read()
        record = find_record(document, name, source)
        records = {key: rec for key, rec in document.imports.items() if key != name}
        return store.write(document.with_records(records)), record


def resolve_record(
    store: StateStore,
    name: str,
    command: str,
    *,
    adopt: str | None = None,
    not_ours: tuple[str, ...] = (),
    timeout: float = 0,
) -> StateDocument:
    """Settle an unanswered StartImport by hand: its import is `adopt`, or the imports in
    `not_ours` are someone else's (the plan then needs proof of nothing else to create)."""
    for import_id in (adopt, *not_ours):
        if import_id is not None and not IMPORT_ID_RE.match(import_id):
            raise UsageError(
                f"{import_id!r} is not an ImportId (36 characters: lower-case hex and dashes, "
                "as plan prints them)."
            )
    if (adopt is None) == (not not_ours):
        raise UsageError("give either --adopt IMPORT_ID or --not-ours IMPORT_ID (repeatable).")
    source = store.describe()
    with store.lock(command, timeout):
        document = store.read()
        record = find_record(document, name, source)
        if record.intent is None or record.import_id is not None:
            raise UsageError(
                f"{name} has no unanswered StartImport to resolve (state {source} records "
                f"{'ImportId ' + record.import_id if record.import_id else 'no intent'}); "
                "nothing was changed."
            )
        owner = next(
            (other for other, rec in document.imports.items() if adopt and rec.import_id == adopt),
            None,
        )
        if owner is not None:
            raise UsageError(
                f"{adopt} is already the import of {owner} in state {source}; one import "
                "belongs to one entry. Nothing was changed."
            )
        if adopt is not None:
            attempts = record.attempts
            if attempts:
                attempts = (
                    *attempts[:-1],
                    replace(attempts[-1], outcome=StartResult.STARTED, import_id=adopt),
                )
            record = replace(record, import_id=adopt, intent=None, attempts=attempts)
        else:
            known = tuple(dict.fromkeys((*record.not_ours, *not_ours)))
            record = replace(record, not_ours=known)
        return store.write(document.with_records({**document.imports, name: record}))


# -- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """One line of `state history`: a StartImport attempt, or the pending intent (last)."""

    at: datetime
    kind: str  # create | retry | replace
    outcome: str  # started | refused | unknown | pending
    import_id: str | None
    error: str | None

    def to_json(self) -> dict[str, str | None]:
        return {
            "at": format_time(self.at),
            "kind": self.kind,
            "outcome": self.outcome,
            "import_id": self.import_id,
            "error": self.error,
        }


def _attempt_row(attempt: Attempt) -> HistoryRow:
    return HistoryRow(attempt.at, attempt.kind, attempt.outcome, attempt.import_id, attempt.error)


def record_history(record: ImportRecord) -> list[HistoryRow]:
    """Attempts oldest first, then the pending intent (written before a StartImport), if any."""
    rows = [_attempt_row(attempt) for attempt in sorted(record.attempts, key=lambda a: a.at)]
    if record.intent is not None:
        intent = record.intent
        rows.append(HistoryRow(intent.at, intent.kind, "pending", intent.import_id, None))
    return rows


# -- live status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    name: str
    import_id: str | None
    status: str
    files_completed: int | None
    events_completed: int | None
    failed_entries: int | None
    updated: datetime | None
    account: str
    region: str
    live: bool  # True: from GetImport now; False: from state (final, pending, never started)
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "import_id": self.import_id,
            "status": self.status,
            "files_completed": self.files_completed,
            "events_completed": self.events_completed,
            "failed_entries": self.failed_entries,
            "updated": format_time(self.updated) if self.updated else None,
            "account": self.account,
            "region": self.region,
            "live": self.live,
            "note": self.note,
        }


def _counts(statistics: Mapping[str, int] | None) -> tuple[int | None, int | None, int | None]:
    """(files completed, events completed, failed entries) from ImportStatistics."""
    if statistics is None:
        return None, None, None
    return (
        statistics.get("FilesCompleted"),
        statistics.get("EventsCompleted"),
        statistics.get("FailedEntries"),
    )


def _row_from_state(record: ImportRecord, status: str, note: str | None) -> StatusRow:
    account, region = place_of(record)
    files, events, failed = _counts(record.statistics)
    return StatusRow(
        record.name, record.import_id, status, files, events, failed,
        record.aws_updated_at, account, region, live=False, note=note,
    )  # fmt: skip


def status_row(record: ImportRecord, reader_for: ReaderFor) -> StatusRow:
    """One record's status: from state where it is final or has nothing to ask, else GetImport."""
    if record.import_id is None:
        if record.intent is not None:
            note = (
                f"{record.intent.kind} intent written at {format_time(record.intent.at)}; no "
                "ImportId recorded yet (the next plan or apply resolves it by identity)"
            )
            return _row_from_state(record, PENDING, note)
        return _row_from_state(record, NOT_STARTED, "no import started yet")
    if record.final and record.status == "COMPLETED":
        return _row_from_state(record, "COMPLETED", None)
    account, region = place_of(record)
    try:
        observed = reader_for(account).get_import(region, record.import_id)
    except CloudError as exc:
        if getattr(exc, "code", None) != "ImportNotFoundException":
            raise
        note = "GetImport found no such import: the next plan shows it as replace (vanished)"
        return _row_from_state(record, NOT_FOUND, note)
    files, events, failed = _counts(observed.statistics)
    in_flight = None
    if record.intent is not None:
        in_flight = f"{record.intent.kind} intent pending since {format_time(record.intent.at)}"
    return StatusRow(
        record.name, observed.import_id, observed.status, files, events, failed,
        observed.updated, account, region, live=True, note=in_flight,
    )  # fmt: skip


def live_status(records: Iterable[ImportRecord], reader_for: ReaderFor) -> list[StatusRow]:
    """Status rows in the order of `records`. An AWS error other than not-found is raised."""
    return [status_row(record, reader_for) for record in records]


# -- failures -------------------------------------------------------------------------------


def all_failures(reader_for: ReaderFor, record: ImportRecord) -> list[Failure]:
    """Every ListImportFailures entry (all pages) of the import recorded under the name."""
    if record.import_id is None:
        waiting = (
            f"a {record.intent.kind} intent is pending since {format_time(record.intent.at)}"
            if record.intent
            else "no import was started for it"
        )
        raise UsageError(
            f"import {record.name} has no ImportId yet ({waiting}), so there are no failures "
            f"to list. `reconcile status {record.name}` shows where it stands."
        )
    account, region = place_of(record)
    try:
        return reader_for(account).list_failures(region, record.import_id, None)
    except CloudError as exc:
        if getattr(exc, "code", None) != "ImportNotFoundException":
            raise
        raise CloudError(
            f"import {record.name} is recorded with ImportId {record.import_id}, but AWS "
            f"({account}, {region}) has no such import; it may have been deleted. The next "
            "plan shows it as replace."
        ) from None
