"""Checks across entries and files: unique names, and ranges that would import events twice.

Two entries overlap when they import into the same event data store from the same or a nested
source prefix and their closed time ranges share a moment (DOMAIN.md: nothing deduplicates, so
the shared events would be stored and billed twice). The later entry (file path order, then
position) gets the error unless it says `allow_overlap: true`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from reconciler.fields import format_time, one_second_before
from reconciler.manifest.problems import Problem, format_path
from reconciler.manifest.yamlsource import ParsedYaml
from reconciler.spec import ImportSpec

_EARLIEST = datetime.min.replace(year=1)
_LATEST = datetime.max


def _order(spec: ImportSpec) -> tuple[str, int]:
    return spec.location.file, spec.location.index


def _problem_at(
    spec: ImportSpec, field: str, message: str, parsed: Mapping[str, ParsedYaml]
) -> Problem:
    path = ("imports", spec.location.index, field)
    source = parsed.get(spec.location.file)
    where = source.position(path) if source else None
    line, column = (
        (where.line, where.column) if where else (spec.location.line, spec.location.column)
    )
    return Problem(spec.location.file, line, column, format_path(path), message)


def _field(spec: ImportSpec, friendly: str, api: str, parsed: Mapping[str, ParsedYaml]) -> str:
    """The key this entry actually wrote (entries use one of the two shapes)."""
    source = parsed.get(spec.location.file)
    data = source.data if source else None
    try:
        entry = data["imports"][spec.location.index]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return friendly
    return api if isinstance(entry, dict) and api in entry else friendly


def duplicate_names(specs: Iterable[ImportSpec], parsed: Mapping[str, ParsedYaml]) -> list[Problem]:
    first: dict[str, ImportSpec] = {}
    problems = []
    for spec in sorted(specs, key=_order):
        earlier = first.setdefault(spec.name, spec)
        if earlier is not spec:
            problems.append(
                _problem_at(
                    spec,
                    "name",
                    f"duplicate name '{spec.name}': already used at "
                    f"{earlier.location.describe()} (names are unique across all manifest "
                    "files; each is the key of one import in state)",
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


def _overlap_message(later: ImportSpec, earlier: ImportSpec) -> str:
    first, second = sorted((later, earlier), key=lambda s: (_span(s), _order(s)))
    suggestion = ""
    if second.start is not None:
        suggestion = (
            f"; to make them meet without overlapping, end '{first.name}' at "
            f"{format_time(one_second_before(second.start))}"
        )
    return (
        f"range {_describe_range(later)} overlaps '{earlier.name}' "
        f"({earlier.location.describe()}, {_describe_range(earlier)}) into the same event data "
        "store from the same or a nested source prefix: those events would be stored and billed "
        f"twice. Ranges are closed, so ranges that merely touch overlap{suggestion}; or set "
        "allow_overlap: true on this entry to import the overlap again on purpose"
    )


def overlapping_ranges(
    specs: Iterable[ImportSpec], parsed: Mapping[str, ParsedYaml]
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
        problems.append(_problem_at(later, field, _overlap_message(later, earlier), parsed))
    return problems


def cross_file_problems(specs: list[ImportSpec], parsed: Mapping[str, ParsedYaml]) -> list[Problem]:
    return duplicate_names(specs, parsed) + overlapping_ranges(specs, parsed)
