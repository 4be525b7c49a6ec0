"""Facts the planner states about imports: identity views, field-level changes, progress.

Pure helpers shared by the planner and apply: they turn records, specs and observed imports
into the plain data a Plan carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.fields import format_time
from reconciler.observed import ObservedImport
from reconciler.plan.types import Change, IdentityView, Progress
from reconciler.spec import Identity, ImportSpec, attributes_document
from reconciler.state.document import ImportRecord


def view(identity: Identity) -> IdentityView:
    return IdentityView(
        destination=identity.destination,
        source_uri=identity.source_uri,
        start=format_time(identity.start) if identity.start else None,
        end=format_time(identity.end) if identity.end else None,
    )


def identity_document(identity: Identity) -> dict[str, Any]:
    shown = view(identity)
    return {
        "destination": shown.destination,
        "source_uri": shown.source_uri,
        "start": shown.start,
        "end": shown.end,
    }


def record_document(record: ImportRecord) -> dict[str, Any]:
    return {
        "identity": identity_document(record.identity),
        "attributes": {
            "bucket_region": record.bucket_region,
            "role_arn": record.role_arn,
            "retry": {"max_attempts": record.max_attempts, "stopped": record.retry_stopped},
        },
    }


def spec_document(spec: ImportSpec) -> dict[str, Any]:
    return {"identity": identity_document(spec.identity), "attributes": attributes_document(spec)}


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Change, ...]:
    """Field-level differences between two spec documents, as dotted paths."""
    if before == after:
        return ()
    from deepdiff import DeepDiff  # only when something differs: it is slow to import

    diff = DeepDiff(dict(before), dict(after), view="tree", threshold_to_diff_deeper=0)
    changes = []
    for items in diff.values():
        for item in items:
            path = ".".join(str(step) for step in item.path(output_format="list"))
            changes.append(Change(field=path, before=plain(item.t1), after=plain(item.t2)))
    return tuple(sorted(changes, key=lambda change: change.field))


def plain(value: Any) -> Any:
    """deepdiff marks a missing side with a NotPresent object; plan data says None."""
    return value if isinstance(value, str | int | float | bool | dict | list | type(None)) else None


def progress_of(observed: ObservedImport) -> Progress:
    stats = observed.statistics or {}
    return Progress(
        status=observed.status,
        prefixes_found=stats.get("PrefixesFound"),
        prefixes_completed=stats.get("PrefixesCompleted"),
        files_completed=stats.get("FilesCompleted"),
        events_completed=stats.get("EventsCompleted"),
        failed_entries=stats.get("FailedEntries"),
        updated=format_time(observed.updated) if observed.updated else None,
    )


def so_far(observed: ObservedImport) -> str:
    stats = observed.statistics or {}
    files, events = stats.get("FilesCompleted"), stats.get("EventsCompleted")
    if files is None and events is None:
        return ""
    return f": {files or 0:,} files, {events or 0:,} events"


def failed_entries(observed: ObservedImport) -> str:
    count = (observed.statistics or {}).get("FailedEntries")
    if count is None:
        return ""
    return f" with {count} failed entr{'y' if count == 1 else 'ies'}"
