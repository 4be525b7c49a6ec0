"""What a FAILED export left out, from what its log group holds: pure, like the planner.

AWS cannot retry an import task, and its batches carry no time range. So the plan asks the
log group how many events it holds per UTC day of eventTime (one Logs Insights query, made
by plan/make.py) and, from those counts:
- proposes exports of only the days holding no event, as entries with `fills: NAME`;
- lets such a fill start only while its own range holds no event;
- says how many events a whole re-export (`--replace NAME`) would copy a second time.
Where the days could not be counted, nothing that could copy twice is proposed, and the
plan says why (the query's own error).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reconciler.exportspec import BYTES_PER_EVENT, ExportIdentity, ExportSpec
from reconciler.fields import format_time_ms
from reconciler.observed_exports import ObservedExport

if TYPE_CHECKING:
    from reconciler.plan.exports import ExportObservation


def _why_uncounted(spec: ExportSpec, observed: ExportObservation) -> str:
    error = observed.count_errors.get(spec.name)
    return f" ({error})" if error else ""


def copied_twice(spec: ExportSpec, task: ObservedExport | None, observed: ExportObservation) -> str:
    """How many events a whole re-export copies a second time: counted in the log group
    when it could be, else estimated from what the old task reports it copied."""
    days = observed.log_days.get(spec.name)
    if days is not None:
        held = sum(days.values())
        if not held:
            return "the log group holds no event of the range, so none is copied twice"
        return (
            f"{held:,} event(s) the log group already holds in the range are copied a second time"
        )
    if task is not None and task.bytes_imported == 0:
        return "the old task copied nothing, so no event is copied twice"
    if task is not None and task.bytes_imported:
        about = max(1, task.bytes_imported // BYTES_PER_EVENT)
        return (
            f"the log group's events could not be counted{_why_uncounted(spec, observed)}; "
            f"the old task copied {task.bytes_imported:,} bytes, about {about:,} event(s) at "
            f"{BYTES_PER_EVENT:,} bytes per event, which are copied a second time"
        )
    return (
        "the log group's events could not be counted and the old task reports no bytes: "
        "an unknown number of events already there are copied a second time"
    )


def gaps_advice(spec: ExportSpec, observed: ExportObservation, replace_hint: str) -> str:
    """What to export again: the days of the range its log group holds nothing of
    (`replace_hint`: the command that confirms a whole re-export, as the person runs it)."""
    if spec.name not in observed.log_days:
        return "export the missing days with entries that say `fills: " + spec.name + "`"
    days = observed.log_days[spec.name]
    if days is None:
        return (
            f"the days the log group lacks could not be counted{_why_uncounted(spec, observed)}, "
            "so no fill is proposed: a re-export of the whole range copies again every event "
            f"already there. To do it anyway, confirm it with {replace_hint} (the plan then "
            "says how many events)"
        )
    if spec.identity.start is None or spec.identity.end is None:
        held = ", ".join(sorted(d for d, n in days.items() if n)) or "none"
        return (
            "export the missing days with entries that say `fills: " + spec.name + "` "
            f"(an open range has no days to walk; days the log group holds: {held})"
        )
    missing = missing_ranges(spec.identity, days)
    if not missing:
        return (
            "the log group holds events on every day of the range, so there is no "
            "missing day to export (a failed batch wrote none of its day)"
        )
    role = f"role_arn: '{spec.role_arn}', " if spec.role_arn else ""
    entries = "; ".join(
        f"{{name: {spec.name}-fill-{index}, source: {spec.source}, {role}fills: "
        f"{spec.name}, start_event_time: '{format_time_ms(start)}', end_event_time: "
        f"'{format_time_ms(end)}'}}"
        for index, (start, end) in enumerate(missing, start=1)
    )
    return (
        f"export only the {len(missing)} missing range(s) (days the log group holds no "
        f"event of), as these entries under `exports:`: {entries}"
    )


def fill_blocked(spec: ExportSpec, observed: ExportObservation) -> str | None:
    """Why a `fills` entry may not start now (its range holds events, or could not be
    counted), or None: the log group holds nothing there."""
    days = observed.log_days.get(spec.name)
    if days is None:
        return (
            "the events its log group holds in this range could not be counted"
            f"{_why_uncounted(spec, observed)}: filling it could copy some of them twice, so "
            "it waits until they can be"
        )
    held = sum(days.values())
    if held:
        return (
            f"the log group already holds {held:,} event(s) in this range (on "
            f"{', '.join(sorted(d for d, n in days.items() if n))}): filling it would copy "
            "them twice; narrow it to the days that hold none"
        )
    return None


def missing_ranges(
    identity: ExportIdentity, days: Mapping[str, int]
) -> list[tuple[datetime, datetime]]:
    """The range's UTC days the log group holds no event of, merged where adjacent and cut
    to the range's own ends (a closed range: a day ends at .999)."""
    if identity.start is None or identity.end is None:
        return []  # an open range has no days to walk: the advice names none
    ranges: list[tuple[datetime, datetime]] = []
    day = identity.start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= identity.end:
        if not days.get(day.strftime("%Y-%m-%d")):
            start = max(day, identity.start)
            end = min(day + timedelta(days=1) - timedelta(milliseconds=1), identity.end)
            if ranges and ranges[-1][1] + timedelta(milliseconds=1) == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        day += timedelta(days=1)
    return ranges
