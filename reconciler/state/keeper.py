"""The one writer of state during apply: each change is written before the next step."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import fields

from reconciler.state.document import (
    ExportRecordState,
    ForeignImport,
    ImportRecord,
    StateDocument,
)
from reconciler.state.store import StateStore


class StateKeeper:
    """The one writer of state during apply: each change is written before the next step."""

    def __init__(self, store: StateStore, document: StateDocument) -> None:
        self.store = store
        self.document = document
        self._lock = threading.Lock()

    def update(self, change: Callable[[dict[str, ImportRecord]], None]) -> StateDocument:
        """Apply `change` to the records and write them, unless nothing but times changed
        (polling a running import every few seconds must not rewrite state each time)."""
        with self._lock:
            before = self.document.imports
            current = dict(before)
            change(current)
            if not _settle(before, current):
                return self.document
            self.document = self.store.write(self.document.with_records(current))
            return self.document

    def update_exports(
        self, change: Callable[[dict[str, ExportRecordState]], None]
    ) -> StateDocument:
        """Apply `change` to the export records and write them (before the step they guard)."""
        with self._lock:
            current = dict(self.document.exports)
            change(current)
            if current == dict(self.document.exports):
                return self.document
            self.document = self.store.write(self.document.with_exports(current))
            return self.document

    def remember_foreign(self, found: dict[str, ForeignImport]) -> None:
        """Cache finished imports no entry manages (their identity never changes), so later
        looks at their store need no GetImport; one write, and only when something is new."""
        if not found:
            return
        with self._lock:
            merged = {**self.document.foreign, **found}
            self.document = self.store.write(self.document.with_foreign(merged))


# Every field but `updated_at`, compared one by one: copying two records per entry to compare
# them (dataclasses.replace) was most of an apply's first pass over thousands of records.
_COMPARED = tuple(f.name for f in fields(ImportRecord) if f.name != "updated_at")


def _same_but_time(old: ImportRecord, new: ImportRecord) -> bool:
    return all(getattr(old, name) == getattr(new, name) for name in _COMPARED)


def _settle(before: Mapping[str, ImportRecord], after: dict[str, ImportRecord]) -> bool:
    """Whether `after` differs from `before` in more than times. A record whose only change
    is its `updated_at` is put back as it was, so a step writes (and journals) only the
    records it really changed, not every record a re-plan refreshed."""
    changed = before.keys() != after.keys()
    only_times = []
    for name, new in after.items():
        old = before.get(name)
        if old is None or old is new:
            changed = changed or old is None
        elif _same_but_time(old, new):
            only_times.append(name)
        else:
            changed = True
    for name in only_times:
        after[name] = before[name]
    return changed
