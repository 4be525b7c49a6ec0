"""Events a store already holds: the rule that no create or replace overlaps them.

AWS deduplicates nothing: an import whose range shares a moment with an import already in the
same store, from the same or a nested prefix, stores those events a second time and bills them
twice, forever. `validate` compares manifest entries with each other (offline); this module
compares a planned start with every import the store reports, managed or not, and with the
state records about to be forgotten (DESIGN.md, "Apply safety").

Matching is deliberately loose where AWS might echo a field differently from how it was sent:
a store ID stands for its ARN, a trailing `/` does not make another prefix, and sub-second
times compare as times. Only a FAILED or STOPPED import that completed no events is harmless.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.fields import format_time
from reconciler.observed import Observed, ObservedImport
from reconciler.plan.types import Finding, Severity
from reconciler.preflight import codes
from reconciler.spec import Identity, ImportSpec
from reconciler.state.document import ImportRecord

OVERLAP_CODE = codes.OVERLAPS_EXISTING_IMPORT
OVERLAP_ALLOWED_CODE = codes.OVERLAP_ALLOWED
ONE_SECOND = timedelta(seconds=1)

Span = tuple[datetime | None, datetime | None]  # closed; None is an open bound


@dataclass(frozen=True)
class Holder:
    """An import that holds events in a store, or may come to (an unfinished one)."""

    import_id: str | None
    name: str | None  # the entry that manages it, if one does
    destination: str
    source_uri: str | None  # None: its details could not be read, so it may overlap anything
    start: datetime | None
    end: datetime | None
    status: str | None
    events: int | None  # EventsCompleted, when known

    @property
    def harmless(self) -> bool:
        return self.status in ("FAILED", "STOPPED") and self.events == 0

    def describe(self) -> str:
        who = f"import {self.import_id}" if self.import_id else "an import"
        if self.name:
            who += f" ('{self.name}')"
        status = self.status or "status unknown"
        if self.source_uri is None:
            return f"{who}, {status}, whose source and range could not be read"
        events = "events unknown" if self.events is None else f"{self.events:,} events completed"
        return f"{who}, {status}, {self.source_uri} {span_text((self.start, self.end))}, {events}"


def holder_of(observed: ObservedImport, name: str | None) -> Holder | None:
    if observed.destination is None:
        return None  # ListImports always names it; without it nothing can be compared
    stats = observed.statistics or {}
    return Holder(
        import_id=observed.import_id,
        name=name,
        destination=observed.destination,
        source_uri=observed.source_uri if observed.detailed else None,
        start=observed.start,
        end=observed.end,
        status=observed.status,
        events=stats.get("EventsCompleted"),
    )


def holder_of_record(name: str, record: ImportRecord) -> Holder:
    """What a state record says its import holds (when AWS no longer shows that import)."""
    stats = record.statistics or {}
    return Holder(
        import_id=record.import_id,
        name=name,
        destination=record.identity.destination,
        source_uri=record.identity.source_uri,
        start=record.identity.start,
        end=record.identity.end,
        status=record.status,
        events=stats.get("EventsCompleted"),
    )


def holders_of(
    observed: Observed, names_by_id: Mapping[str, str], leaving: Mapping[str, ImportRecord]
) -> list[Holder]:
    """Every import AWS reports, plus the records about to be forgotten whose import AWS
    did not report (a record is the last word we have on what it holds)."""
    holders = [
        holder
        for seen in observed.imports.values()
        if (holder := holder_of(seen, names_by_id.get(seen.import_id))) is not None
    ]
    for name, record in leaving.items():
        if record.import_id in observed.imports or not (record.import_id or record.intent):
            continue
        holders.append(holder_of_record(name, record))
    return holders


def store_key(destination: str) -> str:
    """The event data store's ID: an ARN and the bare ID AWS may echo name the same store."""
    return destination.rsplit("/", 1)[-1]


def _prefix(uri: str) -> str:
    return uri.rstrip("/") + "/"


def nested(a: str, b: str) -> bool:
    """Equal prefixes, or one inside the other at a `/` boundary (`s3://b/x` holds
    `s3://b/x/y`, not `s3://b/xy`)."""
    first, second = _prefix(a), _prefix(b)
    return first.startswith(second) or second.startswith(first)


def spans_overlap(a: Span, b: Span) -> bool:
    """Closed ranges: two that merely touch (end == start) share that moment."""
    a_start, a_end = a
    b_start, b_end = b
    if a_end is not None and b_start is not None and a_end < b_start:
        return False
    return not (b_end is not None and a_start is not None and b_end < a_start)


def overlapping(identity: Identity, holders: Iterable[Holder]) -> list[Holder]:
    """The holders whose events this identity would import again (harmless ones left out)."""
    store = store_key(identity.destination)
    found = []
    for holder in holders:
        if holder.harmless or store_key(holder.destination) != store:
            continue
        if holder.source_uri is None or (
            nested(identity.source_uri, holder.source_uri)
            and spans_overlap((identity.start, identity.end), (holder.start, holder.end))
        ):
            found.append(holder)
    return found


class HolderIndex:
    """The holders by store and start, so that finding a range's overlaps looks at the holders
    near it rather than at every import the store reports (20 new entries beside 3,000
    imports were 60,000 comparisons per plan, and apply plans again before every start).

    `overlapping(identity)` answers exactly what `overlapping(identity, holders)` does, in the
    same order: a holder with an open bound or unread details is always compared; one with
    both bounds can only overlap if it starts within the store's longest span before the
    range's start, so only those are.
    """

    def __init__(self, holders: Iterable[Holder]) -> None:
        self._always: dict[str, list[tuple[int, Holder]]] = {}
        self._bounded: dict[str, list[tuple[datetime, int, Holder]]] = {}
        self._longest: dict[str, timedelta] = {}
        for order, holder in enumerate(holders):
            if holder.harmless:
                continue
            store = store_key(holder.destination)
            if holder.source_uri is None or holder.start is None or holder.end is None:
                self._always.setdefault(store, []).append((order, holder))
                continue
            self._bounded.setdefault(store, []).append((holder.start, order, holder))
            length = max(holder.end - holder.start, timedelta(0))
            self._longest[store] = max(self._longest.get(store, length), length)
        for bounded in self._bounded.values():
            bounded.sort(key=lambda item: (item[0], item[1]))
        self._starts = {
            store: [item[0] for item in items] for store, items in self._bounded.items()
        }

    def overlapping(self, identity: Identity) -> list[Holder]:
        store = store_key(identity.destination)
        near = list(self._always.get(store, ()))
        bounded = self._bounded.get(store, [])
        if bounded:
            starts = self._starts[store]
            low = (
                bisect_left(starts, identity.start - self._longest[store])
                if identity.start is not None
                else 0
            )
            high = bisect_right(starts, identity.end) if identity.end is not None else len(starts)
            near.extend((order, holder) for _, order, holder in bounded[low:high])
        near.sort(key=lambda item: item[0])
        return overlapping(identity, [holder for _, holder in near])


def remainder(want: Span, taken: Sequence[Span]) -> list[Span]:
    """The parts of `want` that none of `taken` covers, at second precision, in order."""
    pieces: list[Span] = [want]
    for cut in taken:
        next_pieces: list[Span] = []
        for piece in pieces:
            if not spans_overlap(piece, cut):
                next_pieces.append(piece)
                continue
            cut_start, cut_end = cut
            if cut_start is not None and (piece[0] is None or piece[0] < cut_start):
                next_pieces.append((piece[0], cut_start - ONE_SECOND))
            if cut_end is not None and (piece[1] is None or cut_end < piece[1]):
                next_pieces.append((cut_end + ONE_SECOND, piece[1]))
        pieces = next_pieces
    return pieces


def span_text(span: Span) -> str:
    start, end = span
    return f"{format_time(start) if start else '(open)'} .. {format_time(end) if end else '(open)'}"


def events_at_stake(holders: Sequence[Holder]) -> str:
    """How many events a start over these holders would store twice, in words."""
    count = sum(holder.events or 0 for holder in holders)
    if any(h.source_uri is None or h.events is None for h in holders):
        return f"at least {count:,}" if count else "an unknown number of"
    return f"up to {count:,}"


def overlap_finding(spec: ImportSpec, holders: Sequence[Holder], *, replacing: bool) -> Finding:
    """The error that stops a create or replace over events the store holds."""
    others = "; ".join(holder.describe() for holder in holders)
    message = (
        f"{spec.identity.describe()} overlaps what the store already holds: {others}. "
        f"Starting it would store {events_at_stake(holders)} events a second time (AWS "
        f"deduplicates nothing). {_new_part(spec, holders)}"
    )
    return Finding(
        code=OVERLAP_CODE,
        severity=Severity.ERROR,
        message=message,
        fix=_fix(spec, holders, replacing=replacing),
    )


def allowed_finding(spec: ImportSpec, holders: Sequence[Holder]) -> Finding:
    """With allow_overlap: true the start goes ahead, but a reviewer still sees the cost."""
    others = "; ".join(holder.describe() for holder in holders)
    return Finding(
        code=OVERLAP_ALLOWED_CODE,
        severity=Severity.WARNING,
        message=f"overlaps {others}; allow_overlap: true accepts that "
        f"{events_at_stake(holders)} events are stored twice.",
        fix=f"Remove allow_overlap from '{spec.name}' unless storing them twice is intended.",
    )


def _new_spans(spec: ImportSpec, holders: Sequence[Holder]) -> list[Span] | None:
    """What no holder covers, as time ranges of the entry's prefix; None when that cannot be
    told: a holder's range is unknown, or a holder reads only a narrower prefix (then a time
    range of the whole prefix is neither all new nor all held)."""
    if any(h.source_uri is None for h in holders):
        return None
    if any(
        _prefix(h.source_uri or "") != _prefix(spec.source_uri)
        and _prefix(h.source_uri or "").startswith(_prefix(spec.source_uri))
        for h in holders
    ):
        return None
    return remainder((spec.start, spec.end), [(h.start, h.end) for h in holders])


def _new_part(spec: ImportSpec, holders: Sequence[Holder]) -> str:
    new = _new_spans(spec, holders)
    if new is None:
        return "What in its range is new cannot be told from what AWS reports."
    if not new:
        return "Nothing in its range is new."
    return "New in its range: " + ", ".join(span_text(span) for span in new) + "."


def _fix(spec: ImportSpec, holders: Sequence[Holder], *, replacing: bool) -> str:
    new = _new_spans(spec, holders)
    allow = f"set allow_overlap: true on '{spec.name}'"
    if replacing:
        allow += f" and confirm with --replace {spec.name}"
    if new is None:
        return (
            "Look at the other import (aws cloudtrail get-import --import-id ID), then narrow "
            f"this entry's prefix or range so it does not overlap, or {allow} to store the "
            "overlap twice."
        )
    if not new:
        return (
            "Nothing in this range is new. Remove the entry, or restore the source and range of "
            "the import that already holds it (a rename keeps its identity), or "
            f"{allow} to store these events twice."
        )
    if replacing:
        # The entry has an import already: changing its range again would need --replace.
        # So it stays as it was, and only the new range becomes an entry of its own.
        base = f"{spec.name}-extra"
        head = (
            f"Import only the range that is new: revert '{spec.name}' to what it was and add "
            f"the new range as an entry of its own, or {allow} to store the overlap twice."
        )
    else:
        base = spec.name
        head = (
            "Import only the range that is new: give the entry this range instead (several "
            f"pieces become several entries), or {allow} to store the overlap twice."
        )
    entries = "\n".join(_entry_yaml(spec, piece, base, i, len(new)) for i, piece in enumerate(new))
    return f"{head}\n{entries}"


def _entry_yaml(spec: ImportSpec, span: Span, base: str, index: int, count: int) -> str:
    """One friendly manifest entry, complete on its own (no defaults needed)."""
    name = base if count == 1 else f"{base}-{index + 1}"
    lines = [
        f"- name: {name}",
        f"  destination: {spec.destination}",
        f'  source: {{uri: "{spec.source_uri}", bucket_region: {spec.bucket_region}, '
        f'role_arn: "{spec.role_arn}"}}',
    ]
    if span[0] is not None:
        lines.append(f"  start_event_time: {format_time(span[0])}")
    if span[1] is not None:
        lines.append(f"  end_event_time: {format_time(span[1])}")
    return "\n".join(lines)
