"""`reconcile adopt --exports`: manifest entries for CloudWatch Logs import tasks that exist,
and (`--propose`) one new export per event data store, for teams migrating everything.

Pure: tasks, stores and state come in, YAML text goes out. An adopted task is pinned with
`import_id` (DescribeImportTasks does not return the role, so none is written); a task
whose range overlaps an earlier one of its store gets `allow_overlap: true` (those events
are in CloudWatch twice already), so the file validates. A proposal copies what the store
still keeps: from the later of its retention's oldest day and 2023-01-01 (AWS's migration
guide: nothing older) to the end of yesterday (UTC), a closed range a reviewer can read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.adopt import DEFAULT_SCHEMA_REF, scalar, store_label
from reconciler.exportspec import ranges_meet
from reconciler.fields import format_time, format_time_ms
from reconciler.observed_exports import ObservedExport

EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StoreToExport:
    arn: str
    name: str | None
    retention_days: int | None


def adopted_entries(
    tasks: Iterable[ObservedExport], managed: frozenset[str], names: Mapping[str, str]
) -> list[list[str]]:
    """YAML lines per task not yet managed, oldest first."""
    ordered = sorted(
        (t for t in tasks if t.import_id not in managed and t.source),
        key=lambda t: (t.created or datetime.min.replace(tzinfo=UTC), t.import_id),
    )
    taken: set[str] = set()
    entries = []
    for index, task in enumerate(ordered):
        source = str(task.source)
        start = task.start.strftime("%Y-%m-%d") if task.start else "open"
        name = f"adopted-export-{store_label(source, names)}-{start}-{task.import_id[:8]}"
        while name in taken:
            name += "-2"
        taken.add(name)
        created = format_time(task.created) if task.created else "unknown"
        lines = [
            f"  # {task.status}, task {task.import_id}, created {created}",
            f"  - name: {name}",
            f"    source: {scalar(source)}",
            f"    import_id: {scalar(task.import_id)}",
        ]
        if task.start:
            lines.append(f"    start_event_time: {format_time_ms(task.start)}")
        if task.end:
            lines.append(f"    end_event_time: {format_time_ms(task.end)}")
        if any(
            o.source == task.source and ranges_meet(o.start, o.end, task.start, task.end)
            for o in ordered[:index]
        ):
            lines.append("    allow_overlap: true  # its events are in CloudWatch twice already")
        entries.append(lines)
    return entries


def proposed_entries(
    stores: Iterable[StoreToExport],
    exported_sources: frozenset[str],
    role_arn: str,
    now: datetime,
) -> list[list[str]]:
    """YAML lines per store that has no export task yet."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today - timedelta(milliseconds=1)
    entries = []
    for store in sorted(stores, key=lambda s: s.arn):
        if store.arn in exported_sources:
            continue
        start = EARLIEST
        if store.retention_days is not None:
            oldest = today - timedelta(days=store.retention_days - 1)  # whole days kept
            start = max(start, oldest)
        if start > end:
            continue
        label = store_label(store.arn, {store.arn: store.name} if store.name else {})
        entries.append(
            [
                f"  # {store.name or store.arn}: what it keeps"
                + (f" ({store.retention_days} days of retention)" if store.retention_days else ""),
                f"  - name: to-cloudwatch-{label}",
                f"    source: {scalar(store.arn)}",
                f"    role_arn: {scalar(role_arn)}",
                f"    start_event_time: {format_time_ms(start)}",
                f"    end_event_time: {format_time_ms(end)}",
            ]
        )
    return entries


def render_exports(
    entries: Sequence[list[str]],
    *,
    what: str,
    schema_ref: str = DEFAULT_SCHEMA_REF,
    generated_at: datetime | None = None,
) -> str:
    when = f" on {format_time(generated_at)}" if generated_at else ""
    lines = [
        f"# yaml-language-server: $schema={schema_ref}",
        f"# Written by `reconcile adopt --exports`{when}: {len(entries)} {what}.",
        "version: 1",
    ]
    if not entries:
        return "\n".join([*lines, "exports: []"]) + "\n"
    lines.append("exports:")
    for entry in entries:
        lines += entry
    return "\n".join(lines) + "\n"
