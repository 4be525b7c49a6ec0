"""The state document: what reconcile knows about each managed import, by name.

State is a cache of facts AWS also knows (DESIGN.md, "State"): losing it must never cause a
duplicate import, because plan finds imports by identity. It still matters: it holds attempt
history, pending intents (write-ahead before StartImport) and the final details of COMPLETED
imports, so later plans need no GetImport for them.

This module is the document only (pure data and its JSON form); `store.py` reads and
writes it atomically under a lock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from reconciler.errors import StateError
from reconciler.exportspec import ExportIdentity
from reconciler.fields import format_time, format_time_ms, parse_time
from reconciler.outcomes import AttemptKind, StartResult
from reconciler.spec import Identity

STATE_FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return format_time(value) if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a time string, got {value!r}")
    return parse_time(value)


def _required_time(value: Any) -> datetime:
    parsed = _parse_time(value)
    if parsed is None:
        raise TypeError("a required time is missing")
    return parsed


@dataclass(frozen=True)
class Attempt:
    """One StartImport of an entry (the first, a retry, or a replacement)."""

    at: datetime
    kind: AttemptKind
    outcome: StartResult
    import_id: str | None = None
    error: str | None = None
    code: str | None = None  # the AWS error code of a refusal or rejection

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _time(self.at),
            "kind": self.kind,
            "outcome": self.outcome,
            "import_id": self.import_id,
            "error": self.error,
            "code": self.code,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attempt:
        return cls(
            at=_required_time(data["at"]),
            kind=AttemptKind(str(data["kind"])),
            outcome=StartResult(str(data["outcome"])),
            import_id=_id_or_none(data.get("import_id")),
            error=data.get("error"),
            code=data.get("code"),
        )


@dataclass(frozen=True)
class Intent:
    """Written (and fsynced) before StartImport; cleared once the ImportId is recorded."""

    kind: AttemptKind
    at: datetime
    import_id: str | None = None  # the import being retried, for a retry

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": _time(self.at), "import_id": self.import_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Intent:
        return cls(
            kind=AttemptKind(str(data["kind"])),
            at=_required_time(data["at"]),
            import_id=_id_or_none(data.get("import_id")),
        )


@dataclass(frozen=True)
class ImportRecord:
    name: str
    manifest_file: str
    identity: Identity
    bucket_region: str
    role_arn: str  # for an unfinished import: the role it started with
    max_attempts: int
    retry_stopped: bool
    spec_hash: str
    import_id: str | None = None
    status: str | None = None  # last observed ImportStatus
    statistics: Mapping[str, int] | None = None
    final: bool = False  # COMPLETED and its details recorded: never needs GetImport again
    attempts: tuple[Attempt, ...] = ()
    next_retry_at: datetime | None = None
    intent: Intent | None = None
    updated_at: datetime | None = None  # when we last wrote the record
    aws_updated_at: datetime | None = None  # the import's UpdatedTimestamp, as last seen
    # ImportIds a person said are not the answer to this entry's unanswered StartImport
    # (`reconcile state resolve NAME --not-ours ID`): never taken as its candidate again.
    not_ours: tuple[str, ...] = ()

    @property
    def starts(self) -> int:
        """StartImport calls of the current import that count against max_attempts.

        Refusals (AccountHasOngoingImportException, throttling) prove nothing started and do
        not count; an outcome never learned counts, to be safe. A replacement starts a new
        import, and the count again.
        """
        current: list[Attempt] = []
        for attempt in self.attempts:
            if attempt.kind == AttemptKind.REPLACE and attempt.outcome != StartResult.REFUSED:
                current = []
            current.append(attempt)
        return sum(1 for attempt in current if attempt.outcome != "refused")

    @property
    def last_error(self) -> str | None:
        return next((a.error for a in reversed(self.attempts) if a.error), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_file": self.manifest_file,
            "identity": {
                "destination": self.identity.destination,
                "source_uri": self.identity.source_uri,
                "start": _time(self.identity.start),
                "end": _time(self.identity.end),
            },
            "attributes": {
                "bucket_region": self.bucket_region,
                "role_arn": self.role_arn,
                "retry": {"max_attempts": self.max_attempts, "stopped": self.retry_stopped},
            },
            "spec_hash": self.spec_hash,
            "import_id": self.import_id,
            "status": self.status,
            "statistics": dict(self.statistics) if self.statistics is not None else None,
            "final": self.final,
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "next_retry_at": _time(self.next_retry_at),
            "intent": self.intent.to_json() if self.intent else None,
            "updated_at": _time(self.updated_at),
            "aws_updated_at": _time(self.aws_updated_at),
            "not_ours": list(self.not_ours),
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ImportRecord:
        identity = data["identity"]
        attributes = data["attributes"]
        statistics = data.get("statistics")
        return cls(
            name=name,
            manifest_file=str(data["manifest_file"]),
            identity=Identity(
                destination=str(identity["destination"]),
                source_uri=str(identity["source_uri"]),
                start=_parse_time(identity.get("start")),
                end=_parse_time(identity.get("end")),
            ),
            bucket_region=str(attributes["bucket_region"]),
            role_arn=str(attributes["role_arn"]),
            max_attempts=int(attributes["retry"]["max_attempts"]),
            retry_stopped=bool(attributes["retry"]["stopped"]),
            spec_hash=str(data["spec_hash"]),
            import_id=_id_or_none(data.get("import_id")),
            status=_text_or_none(data.get("status"), "status"),
            statistics={str(k): int(v) for k, v in statistics.items()} if statistics else None,
            final=_flag(data.get("final", False), "final"),
            attempts=tuple(Attempt.from_json(a) for a in data.get("attempts", ())),
            next_retry_at=_parse_time(data.get("next_retry_at")),
            intent=Intent.from_json(data["intent"]) if data.get("intent") else None,
            updated_at=_parse_time(data.get("updated_at")),
            aws_updated_at=_parse_time(data.get("aws_updated_at")),
            not_ours=tuple(str(id_) for id_ in data.get("not_ours") or ()),
        )


@dataclass(frozen=True)
class ForeignImport:
    """A finished import that no entry manages, as GetImport described it.

    Its identity never changes, so apply keeps it (state key `foreign_imports`) and later
    looks at a busy store cost no GetImport for it. `status` and `updated` say whether the
    cached facts are still current: a FAILED import someone retries changes both."""

    import_id: str
    destination: str
    source_uri: str
    start: datetime | None
    end: datetime | None
    status: str
    updated: datetime | None
    events: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "source_uri": self.source_uri,
            "start": _time(self.start),
            "end": _time(self.end),
            "status": self.status,
            "updated": _time(self.updated),
            "events": self.events,
        }

    @classmethod
    def from_json(cls, import_id: str, data: Mapping[str, Any]) -> ForeignImport:
        events = data.get("events")
        if events is not None and (isinstance(events, bool) or not isinstance(events, int)):
            raise TypeError(f"foreign import {import_id}: events must be an integer")
        return cls(
            import_id=import_id,
            destination=str(data["destination"]),
            source_uri=str(data["source_uri"]),
            start=_parse_time(data.get("start")),
            end=_parse_time(data.get("end")),
            status=str(data["status"]),
            updated=_parse_time(data.get("updated")),
            events=events,
        )


@dataclass(frozen=True)
class ExportRecordState:
    """One export in state: its identity, and the task that answers it or the intent sent.

    The intent (`intent_at`) is written and fsynced before CreateImportTask, the importId
    right after its answer; an intent without an importId is settled by proof (plan/exports)."""

    name: str
    manifest_file: str
    identity: ExportIdentity
    role_arn: str | None
    import_id: str | None = None
    intent_at: datetime | None = None
    status: str | None = None  # last observed importStatus
    # Tasks this export replaced (--replace): never adopted again, and not an overlap to it.
    replaced: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "manifest_file": self.manifest_file,
            "identity": {
                "source": self.identity.source,
                "start": _time_ms(self.identity.start),
                "end": _time_ms(self.identity.end),
            },
            "role_arn": self.role_arn,
            "import_id": self.import_id,
            "intent_at": _time_ms(self.intent_at),
            "status": self.status,
        }
        if self.replaced:  # written only when there are some: older states stay as they were
            data["replaced"] = list(self.replaced)
        return data

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ExportRecordState:
        identity = data["identity"]
        source = identity["source"]
        if not isinstance(source, str):
            raise TypeError("an export's identity.source must be a string")
        return cls(
            name=name,
            manifest_file=str(data["manifest_file"]),
            identity=ExportIdentity(
                source, _parse_time(identity.get("start")), _parse_time(identity.get("end"))
            ),
            role_arn=_text_or_none(data.get("role_arn"), "role_arn"),
            import_id=_id_or_none(data.get("import_id")),
            intent_at=_parse_time(data.get("intent_at")),
            status=_text_or_none(data.get("status"), "status"),
            replaced=_ids(data.get("replaced", [])),
        )


def _time_ms(value: datetime | None) -> str | None:
    return format_time_ms(value) if value is not None else None


@dataclass(frozen=True)
class StateDocument:
    lineage: str
    serial: int = 0
    imports: Mapping[str, ImportRecord] = field(default_factory=lambda: MappingProxyType({}))
    # Finished imports no entry manages, by ImportId; apply writes them, plan only reads.
    foreign: Mapping[str, ForeignImport] = field(default_factory=lambda: MappingProxyType({}))
    # Exports to CloudWatch Logs, by name (the same namespace as imports).
    exports: Mapping[str, ExportRecordState] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def empty(cls) -> StateDocument:
        """A state that has never been written: no lineage yet (set on first write)."""
        return cls(lineage="", serial=0)

    @property
    def exists(self) -> bool:
        return bool(self.lineage)

    def with_records(self, records: Mapping[str, ImportRecord]) -> StateDocument:
        return replace(self, imports=MappingProxyType(dict(records)))

    def with_foreign(self, foreign: Mapping[str, ForeignImport]) -> StateDocument:
        return replace(self, foreign=MappingProxyType(dict(foreign)))

    def with_exports(self, exports: Mapping[str, ExportRecordState]) -> StateDocument:
        return replace(self, exports=MappingProxyType(dict(exports)))

    def next_version(self) -> StateDocument:
        """The document as it will be written next: serial + 1, lineage fixed at creation."""
        return replace(self, lineage=self.lineage or str(uuid.uuid4()), serial=self.serial + 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": STATE_FORMAT_VERSION,
            "lineage": self.lineage,
            "serial": self.serial,
            "imports": {name: self.imports[name].to_json() for name in sorted(self.imports)},
            "foreign_imports": {id_: self.foreign[id_].to_json() for id_ in sorted(self.foreign)},
            # Only once there are exports: a state without them reads and diffs as before.
            **(
                {"exports": {name: self.exports[name].to_json() for name in sorted(self.exports)}}
                if self.exports
                else {}
            ),
        }

    def to_bytes(self) -> bytes:
        """The document as stored: the top level indented, one record per line. The same
        JSON as `to_json()`, written by json's C encoder (an indented dump runs in Python:
        3.5x slower at 3,000 records); a record per line also keeps diffs of the file short."""
        data = self.to_json()
        lines = ["{"]
        for key, value in data.items():
            if isinstance(value, dict):
                items = [f"    {_dumps(name)}: {_dumps(record)}" for name, record in value.items()]
                body = "{\n" + ",\n".join(items) + "\n  }" if items else "{}"
                lines.append(f"  {_dumps(key)}: {body},")
            else:
                lines.append(f"  {_dumps(key)}: {_dumps(value)},")
        lines[-1] = lines[-1].removesuffix(",")
        lines.append("}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, document: Any, *, source: str) -> StateDocument:
        """Parse a loaded JSON value; anything malformed is a StateError naming `source`."""
        if not isinstance(document, dict):
            raise StateError(f"state {source} is not a JSON object; refusing to use it.")
        version = document.get("format_version")
        if isinstance(version, int) and version > STATE_FORMAT_VERSION:
            raise StateError(
                f"state {source} has format_version {version}, newer than this reconcile "
                f"understands ({STATE_FORMAT_VERSION}). Upgrade reconcile; the state was left "
                "untouched."
            )
        if type(version) is not int or version != STATE_FORMAT_VERSION:  # true is not 1
            raise StateError(f"state {source} has no valid format_version; refusing to use it.")
        try:
            lineage = document["lineage"]
            serial = document["serial"]
            if not isinstance(lineage, str) or type(serial) is not int or serial < 0:
                raise TypeError("lineage must be a string and serial a whole number >= 0")
            records = {
                str(name): ImportRecord.from_json(str(name), data)
                for name, data in document["imports"].items()
            }
            foreign = {
                str(id_): ForeignImport.from_json(str(id_), data)
                for id_, data in (document.get("foreign_imports") or {}).items()
            }
            exports = {
                str(name): ExportRecordState.from_json(str(name), data)
                for name, data in (document.get("exports") or {}).items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"state {source} is corrupt ({type(exc).__name__}: {exc}); it was left "
                "untouched. Restore the backup next to it, or move it away to start over "
                "(plan then adopts existing imports by identity, so nothing is started twice)."
            ) from None
        return cls(
            lineage=lineage,
            serial=serial,
            imports=MappingProxyType(records),
            foreign=MappingProxyType(foreign),
            exports=MappingProxyType(exports),
        )


def _text_or_none(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{field} must be a string or null, not {value!r}")
    return value


def _id_or_none(value: Any) -> str | None:
    """An ImportId as AWS writes it (a string), or none: `import_id: 5` is a damaged file."""
    return _text_or_none(value, "import_id")


def _ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"replaced must be a list of task IDs, not {value!r}")
    return tuple(value)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{field} must be true or false, not {value!r}")
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
