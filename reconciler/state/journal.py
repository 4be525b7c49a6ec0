"""The journal beside a local state document: one appended line per write, so a step costs
what it changed, not what the state holds.

A write during apply appends one line, `{"lineage", "serial", "imports", "foreign"}` (and
`"exports"` when exports changed), holding
only the records that changed (a removed record is `null`), and fsyncs it. The document is
the journal folded in: `compact` (in local.py) writes it whole once per run and removes the
journal. Reading takes the document and replays the lines after its serial, so every reader
(plan without a lock included) sees each write as soon as it is fsynced, and the serial that
saved plans compare advances with every line.

Crash safety: a line is one `write` of bytes that end with a newline and hold none inside
(JSON escapes them), so a crash mid-append leaves at most a torn last line without its
newline. That line is the write that did not happen (the caller never went on to the step it
guards, StartImport included) and is ignored; the next lock holder compacts the journal
before it appends anything, so nothing is ever written after a torn line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.errors import StateError
from reconciler.state.document import (
    ExportRecordState,
    ForeignImport,
    ImportRecord,
    StateDocument,
)

JOURNAL_SUFFIX = ".journal"

_Value = TypeVar("_Value", ImportRecord, ForeignImport, ExportRecordState)


def _changes(before: Mapping[str, _Value], after: Mapping[str, _Value]) -> dict[str, Any]:
    """What changed from `before` to `after`: new values as JSON, removed keys as None.
    Records are immutable and replaced when they change, so `is` settles almost every key
    without comparing fields."""
    changed: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if old is not value and old != value:
            changed[key] = value.to_json()
    for key in before.keys() - after.keys():
        changed[key] = None
    return changed


def entry(before: StateDocument, after: StateDocument) -> bytes:
    """The journal line that turns `before` into `after` (whose serial is the next one)."""
    line = {
        "lineage": after.lineage,
        "serial": after.serial,
        "imports": _changes(before.imports, after.imports),
        "foreign": _changes(before.foreign, after.foreign),
    }
    exported = _changes(before.exports, after.exports)
    if exported:  # only when exports changed: the lines of an imports-only state stay as they were
        line["exports"] = exported
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def replay(document: StateDocument, raw: bytes, source: str) -> StateDocument:
    """`document` with the journal's lines after its serial applied, in order. A torn last
    line (no newline) is ignored; lines at or below the document's serial were compacted
    into it already. Anything else out of place means the files do not belong together."""
    *lines, _torn = raw.split(b"\n")
    imports: dict[str, ImportRecord] | None = None
    foreign: dict[str, ForeignImport] | None = None
    exports: dict[str, ExportRecordState] | None = None
    serial = document.serial
    for number, line in enumerate(lines, start=1):
        where = f"state {source}{JOURNAL_SUFFIX}, line {number}"
        parsed = _parse_line(line, where)
        if parsed["lineage"] != document.lineage:
            raise StateError(
                f"{where} belongs to another state (lineage {parsed['lineage']}, the document's "
                f"is {document.lineage or 'none yet'}); both were left untouched. Move the "
                "journal away only if that other state is not in use."
            )
        if parsed["serial"] <= document.serial:
            continue  # compacted into the document already (a crash before the journal went)
        if parsed["serial"] != serial + 1:
            raise StateError(
                f"{where} is serial {parsed['serial']} where {serial + 1} was due; the files "
                "were left untouched. The backup next to the state is the document before this "
                "run's journal: restoring it loses the run's steps (apply would then adopt its "
                "imports by identity)."
            )
        serial = parsed["serial"]
        try:
            if parsed["imports"]:
                imports = dict(document.imports) if imports is None else imports
                _apply(imports, parsed["imports"], ImportRecord.from_json)
            if parsed["foreign"]:
                foreign = dict(document.foreign) if foreign is None else foreign
                _apply(foreign, parsed["foreign"], ForeignImport.from_json)
            if parsed.get("exports"):
                exports = dict(document.exports) if exports is None else exports
                _apply(exports, parsed["exports"], ExportRecordState.from_json)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"{where} is corrupt ({type(exc).__name__}: {exc}).") from None
    if serial == document.serial:
        return document
    return StateDocument(
        lineage=document.lineage,
        serial=serial,
        imports=document.imports if imports is None else MappingProxyType(imports),
        foreign=document.foreign if foreign is None else MappingProxyType(foreign),
        exports=document.exports if exports is None else MappingProxyType(exports),
    )


def _parse_line(line: bytes, where: str) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except (ValueError, RecursionError):
        parsed = None
    if (
        not isinstance(parsed, dict)
        or not isinstance(parsed.get("lineage"), str)
        or type(parsed.get("serial")) is not int
        or not isinstance(parsed.get("imports"), dict)
        or not isinstance(parsed.get("foreign"), dict)
    ):
        raise StateError(
            f"{where} is not a journal entry this reconcile wrote; the files were left "
            "untouched. Move the journal away only once no run is using the state: the "
            "document then lacks its steps, and apply adopts their imports by identity."
        )
    return parsed


def _apply(target: dict[str, Any], changes: dict[str, Any], parse: Any) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = parse(key, value)
