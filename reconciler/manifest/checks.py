"""Checks across entries and files: unique names, and ranges that would import events twice.

Two entries overlap when they import into the same event data store from the same or a nested
source prefix and their closed time ranges share a moment (DOMAIN.md: nothing deduplicates, so
the shared events would be stored and billed twice). The later entry (file path order, then
position) gets the error unless it says `allow_overlap: true`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from reconciler.exportspec import ExportSpec
from reconciler.fields import format_time, one_second_after, one_second_before
from reconciler.manifest.problems import Problem, format_path
from reconciler.manifest.yamlsource import ParsedYaml
from reconciler.spec import ImportSpec

_EARLIEST = datetime.min.replace(year=1)
_LATEST = datetime.max


Entry = ImportSpec | ExportSpec  # both share one namespace of names (state, --target)


def _order(spec: Entry) -> tuple[str, int, str]:
    return spec.location.file, spec.location.index, spec.section


def _problem_at(spec: Entry, field: str, message: str, parsed: Mapping[str, ParsedYaml]) -> Problem:
    path = (spec.section, spec.location.index, field)
    source = parsed.get(spec.location.file)
    where = source.position(path) if source else None
    line, column = (
        (where.line, where.column) if where else (spec.location.line, spec.location.column)
    )
    return Problem(spec.location.file, line, column, format_path(path), message)


def _field(spec: Entry, friendly: str, api: str, parsed: Mapping[str, ParsedYaml]) -> str:
    """The key this entry actually wrote (entries use one of the two shapes)."""
    source = parsed.get(spec.location.file)
    data = source.data if source else None
    try:
        entry = data[spec.section][spec.location.index]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return friendly
    return api if isinstance(entry, dict) and api in entry else friendly


def duplicate_names(specs: Iterable[Entry], parsed: Mapping[str, ParsedYaml]) -> list[Problem]:
    first: dict[str, Entry] = {}
    problems = []
    by_place = sorted(specs, key=lambda s: (s.location.file, s.location.line, _order(s)))
    for spec in by_place:  # the later in the file is the duplicate, whichever list it is in
        earlier = first.setdefault(spec.name, spec)
        if earlier is not spec:
            problems.append(
                _problem_at(
                    spec,
                    "name",
                    f"duplicate name '{spec.name}': already used at "
                    f"{earlier.location.describe()} (names are unique across all manifest "
                    "files, imports and exports alike; each is the key of one job in state)",
                    parsed,
                )
            )
    return problems


def _prefix_key(uri: str) -> str:
    """Compare prefixes by whole path segments: s3://b/logs/ does not contain s3://b/logs-old/."""
    return uri if uri.endswith("/") else uri + "/"


def _nested(a: ImportSpec, b: ImportSpec) -> bool:
    left, right = _prefix_key(a.source_uri), _prefix_key(b.source_uri)
    return left.startswith(right) or right.startswith(left)


def _span(spec: ImportSpec) -> tuple[datetime, datetime]:
    start = spec.start.replace(tzinfo=None) if spec.start else _EARLIEST
    end = spec.end.replace(tzinfo=None) if spec.end else _LATEST
    return start, end


def _describe_range(spec: ImportSpec) -> str:
    start = format_time(spec.start) if spec.start else "(open)"
    end = format_time(spec.end) if spec.end else "(open)"
    return f"{start} .. {end}"


def _overlap_message(later: ImportSpec, earlier: ImportSpec, started: frozenset[str] | None) -> str:
    """The overlap, and an edit that removes it without touching an entry that has started
    (changing a started entry's range changes its identity: that needs --replace, and would
    import its events again). Without state (`validate` offline) both edits are named."""
    first, second = sorted((later, earlier), key=lambda s: (_span(s), _order(s)))
    edits = {}  # only edits that leave a real range (a start before its end)
    if second.start is not None:
        end = one_second_before(second.start)
        if first.start is None or first.start < end:
            edits[first.name] = f"end '{first.name}' at {format_time(end)}"
    if first.end is not None:
        start = one_second_after(first.end)
        if second.end is None or start < second.end:
            edits[second.name] = f"start '{second.name}' at {format_time(start)}"
    if started is None:
        options = " or ".join(edits.values())
        advice = f"; change the entry that has not started yet ({options})" if options else ""
    else:
        allowed = [edit for name, edit in edits.items() if name not in started]
        if allowed:
            advice = f"; {allowed[0]} (it has not started yet)"
        elif {later.name, earlier.name} <= started:
            advice = "; both have started, so the overlap is in the store already"
        else:
            advice = ""
    return (
        f"range {_describe_range(later)} overlaps '{earlier.name}' "
        f"({earlier.location.describe()}, {_describe_range(earlier)}) into the same event data "
        "store from the same or a nested source prefix: those events would be stored and billed "
        f"twice. Ranges are closed, so ranges that merely touch overlap{advice}; or set "
        f"allow_overlap: true on '{later.name}' to import the overlap again on purpose"
    )


def overlapping_ranges(
    specs: Iterable[ImportSpec],
    parsed: Mapping[str, ParsedYaml],
    started: frozenset[str] | None = None,
) -> list[Problem]:
    """One problem per later entry that overlaps an earlier one.

    A sweep over start times per (destination, bucket) keeps this near-linear for the usual
    case of many disjoint ranges; only entries whose ranges really overlap are compared.
    """
    groups: dict[tuple[str, str], list[ImportSpec]] = defaultdict(list)
    for spec in specs:
        bucket = spec.source_uri[len("s3://") :].split("/", 1)[0]
        groups[(spec.destination, bucket)].append(spec)
    conflicts: dict[ImportSpec, ImportSpec] = {}
    for members in groups.values():
        spans = sorted((*_span(spec), _order(spec), spec) for spec in members)
        active: list[tuple[datetime, int, ImportSpec]] = []  # heap by end
        for position, (start, end, _, spec) in enumerate(spans):
            while active and active[0][0] < start:
                heapq.heappop(active)
            for _, _, other in active:
                if not _nested(spec, other):
                    continue
                later, earlier = (spec, other) if _order(spec) > _order(other) else (other, spec)
                if not later.allow_overlap and later not in conflicts:
                    conflicts[later] = earlier
            heapq.heappush(active, (end, position, spec))
    problems = []
    for later, earlier in conflicts.items():
        field = _field(later, "start_event_time", "StartEventTime", parsed)
        problems.append(
            _problem_at(later, field, _overlap_message(later, earlier, started), parsed)
        )
    return problems


def overlapping_exports(
    specs: Iterable[ExportSpec], parsed: Mapping[str, ParsedYaml]
) -> list[Problem]:
    """The imports' overlap rule for exports of one store: closed eventTime ranges that share
    a moment would copy those events to CloudWatch twice. Exports are few per store, so each
    is compared with the earlier ones of its store."""
    ordered = sorted(specs, key=_order)
    by_name = {spec.name: spec for spec in ordered}
    by_store: dict[str, list[ExportSpec]] = defaultdict(list)
    problems = [p for spec in ordered for p in _fills_problems(spec, by_name, parsed)]
    for spec in ordered:
        earlier = next(
            (
                e
                for e in by_store[spec.source]
                if spec.identity.meets(e.start, e.end)
                and spec.name != e.fills
                and e.name != spec.fills
            ),
            None,
        )
        by_store[spec.source].append(spec)
        if earlier is None or spec.allow_overlap:
            continue
        field = _field(spec, "start_event_time", "importFilter", parsed)
        message = (
            f"range {spec.identity.range_text()} overlaps export '{earlier.name}' "
            f"({earlier.location.describe()}, {earlier.identity.range_text()}) of the same event "
            "data store: those events would be copied to CloudWatch Logs twice (ranges are closed, "
            f"so ranges that merely touch overlap); narrow one range, or set allow_overlap: "
            f"true on '{spec.name}' to copy the overlap again on purpose"
        )
        problems.append(_problem_at(spec, field, message, parsed))
    return problems


def _fills_problems(
    spec: ExportSpec, by_name: Mapping[str, ExportSpec], parsed: Mapping[str, ParsedYaml]
) -> list[Problem]:
    """`fills: NAME` completes export NAME: same store, a range inside NAME's."""
    if spec.fills is None:
        return []
    filled = by_name.get(spec.fills)
    message = None
    if filled is None:
        message = f"fills '{spec.fills}', but no export in the manifests has that name"
    elif filled.source != spec.source:
        message = f"fills '{spec.fills}', which exports another store ({filled.source})"
    elif not _inside(spec, filled):
        message = (
            f"fills '{spec.fills}', so its range must lie inside {filled.identity.range_text()}; "
            f"{spec.identity.range_text()} does not"
        )
    return [_problem_at(spec, "fills", message, parsed)] if message else []


def _inside(inner: ExportSpec, outer: ExportSpec) -> bool:
    if outer.start is not None and (inner.start is None or inner.start < outer.start):
        return False
    return outer.end is None or (inner.end is not None and inner.end <= outer.end)


def cross_file_problems(
    specs: list[ImportSpec],
    parsed: Mapping[str, ParsedYaml],
    started: frozenset[str] | None = None,
    exports: Sequence[ExportSpec] = (),
) -> list[Problem]:
    """`started`: names whose import has started (from state), when state is known."""
    return (
        duplicate_names([*specs, *exports], parsed)
        + overlapping_ranges(specs, parsed, started)
        + overlapping_exports(exports, parsed)
    )
