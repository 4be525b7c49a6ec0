"""A manifest file's `exports:` entries checked by their models and turned into `ExportSpec`s.

Both shapes are accepted: the friendly one (completed by `defaults.exports`) and the input of
`aws logs create-import-task` (times in epoch milliseconds), each plus a name.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.exportspec import ExportSpec
from reconciler.manifest.context import FileContext, range_ok
from reconciler.manifest.models import (
    ApiExport,
    Defaults,
    ExportDefaults,
    ExportEntry,
    FriendlyExport,
    export_shape,
)
from reconciler.manifest.pydantic_errors import EXPORT_TAGS, problems_from_validation
from reconciler.manifest.yamlsource import Position
from reconciler.spec import SourceLocation

_EXPORT: TypeAdapter[FriendlyExport | ApiExport] = TypeAdapter(ExportEntry)


def export_specs(
    context: FileContext, raw_entries: list[Any], defaults: Defaults | None
) -> list[ExportSpec]:
    """The file's exports; each problem goes to `context` with its place."""
    starts = context.parsed.item_positions(("exports",))
    fallback = (defaults.exports if defaults else None) or ExportDefaults()
    specs = []
    for index, raw in enumerate(raw_entries):
        try:
            entry = _EXPORT.validate_python(raw)
        except ValidationError as exc:
            model = ApiExport if export_shape(raw) == "api" else FriendlyExport
            found = problems_from_validation(exc, model, tagged=True, tags=EXPORT_TAGS)
            for path, message, at_key in found:
                context.add(("exports", index, *path), message, at_key=at_key)
            continue
        where = starts[index] if index < len(starts) else Position(1, 1)
        location = SourceLocation(context.path, index, where.line, where.column)
        spec = _spec(context, index, entry, fallback, location)
        if spec is not None:
            specs.append(spec)
    return specs


def _spec(
    context: FileContext,
    index: int,
    entry: FriendlyExport | ApiExport,
    fallback: ExportDefaults,
    location: SourceLocation,
) -> ExportSpec | None:
    base = ("exports", index)
    if isinstance(entry, ApiExport):
        window = entry.importFilter
        start = window.startEventTime if window else None
        end = window.endEventTime if window else None
        role, import_id, source = entry.importRoleArn, entry.importId, entry.importSourceArn
        end_path: tuple[str | int, ...] = (*base, "importFilter", "endEventTime")
        names = ("importRoleArn", "importId", "importFilter.startEventTime")
    else:
        start = entry.start_event_time or fallback.start_event_time
        end = entry.end_event_time or fallback.end_event_time
        role, import_id, source = entry.role_arn or fallback.role_arn, entry.import_id, entry.source
        from_defaults = entry.end_event_time is None
        end_path = ("defaults", "exports", "end_event_time") if from_defaults else (
            *base, "end_event_time"
        )  # fmt: skip
        names = ("role_arn", "import_id", "start_event_time")
    if role is None and import_id is None:
        where = "the entry" if isinstance(entry, ApiExport) else "the entry or in defaults.exports"
        context.add(
            base,
            f"export '{entry.name}' has no {names[0]}; set it on {where} (only an export "
            f"pinned to an existing task with {names[1]} may leave it out)",
        )
        return None
    if not range_ok(context, start, end, end_path, names[2]):
        return None
    return ExportSpec(
        name=entry.name,
        source=source,
        role_arn=role,
        start=start,
        end=end,
        location=location,
        import_id=import_id,
        allow_overlap=entry.allow_overlap,
        fills=entry.fills,
    )
