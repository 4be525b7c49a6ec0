"""The manifest's field types for pydantic: the checks of reconciler/fields.py, each raising
a `PydanticCustomError` with the check's own sentence, plus the JSON Schema each publishes.

Kept apart from fields.py so that code which only checks values (the manifest fast path, saved
plans, the CLI) never imports pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from reconciler.fields import (
    EVENT_DATA_STORE_ARN_RE,
    EXAMPLE_EDS_ARN,
    EXPORT_TASK_ID_RE,
    IMPORT_ID_RE,
    NAME_RE,
    REGION_RE,
    ROLE_ARN_RE,
    FieldProblem,
    check_event_data_store_arn,
    check_export_task_id,
    check_import_id,
    check_name,
    check_region,
    check_role_arn,
    check_s3_uri,
    parse_epoch_ms,
    parse_event_time,
    parse_export_time,
)


def _worded(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`check` as a pydantic validator: its FieldProblem becomes pydantic's custom error, with
    the same type and sentence (pydantic_errors.py words problems from both)."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except FieldProblem as problem:
            raise PydanticCustomError(problem.kind, problem.message) from None

    return validate


def _ecma(pattern: re.Pattern[str]) -> str:
    """The pattern for JSON Schema (ECMA 262 has no Python-style named groups)."""
    return re.sub(r"\?P<\w+>", "", pattern.pattern)


_TIME_SCHEMA: dict[str, Any] = {
    "description": "ISO 8601 time with Z or an offset, a date (midnight UTC), or epoch seconds.",
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "integer", "minimum": 0},
    ],
}

EventTime = Annotated[
    datetime, PlainValidator(_worded(parse_event_time)), WithJsonSchema(_TIME_SCHEMA)
]
EventDataStoreArn = Annotated[
    str,
    PlainValidator(_worded(check_event_data_store_arn)),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _ecma(EVENT_DATA_STORE_ARN_RE),
            "description": f"Event data store ARN: {EXAMPLE_EDS_ARN}",
        }
    ),
]
RoleArn = Annotated[
    str,
    PlainValidator(_worded(check_role_arn)),
    WithJsonSchema({"type": "string", "pattern": _ecma(ROLE_ARN_RE)}),
]
RegionName = Annotated[
    str,
    PlainValidator(_worded(check_region)),
    WithJsonSchema({"type": "string", "pattern": _ecma(REGION_RE)}),
]
S3Uri = Annotated[
    str,
    PlainValidator(_worded(check_s3_uri)),
    WithJsonSchema(
        {"type": "string", "pattern": "^s3://[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9](/.*)?$"}
    ),
]
ImportName = Annotated[
    str,
    PlainValidator(_worded(check_name)),
    WithJsonSchema({"type": "string", "pattern": _ecma(NAME_RE)}),
]
ImportId = Annotated[
    str | None,
    PlainValidator(_worded(check_import_id)),
    WithJsonSchema(
        {
            "description": "Pins the entry to an existing import; '' (the skeleton's) means none.",
            "anyOf": [{"type": "string", "pattern": _ecma(IMPORT_ID_RE)}, {"const": ""}],
        }
    ),
]
ExportTaskId = Annotated[
    str | None,
    PlainValidator(_worded(check_export_task_id)),
    WithJsonSchema(
        {
            "description": "Pins the export to an existing CloudWatch Logs import task.",
            "anyOf": [{"type": "string", "pattern": _ecma(EXPORT_TASK_ID_RE)}, {"const": ""}],
        }
    ),
]
ExportTime = Annotated[
    datetime,
    PlainValidator(_worded(parse_export_time)),
    WithJsonSchema(
        {**_TIME_SCHEMA, "description": f"{_TIME_SCHEMA['description']} Milliseconds allowed."}
    ),
]
EpochMillis = Annotated[
    datetime,
    PlainValidator(_worded(parse_epoch_ms)),
    WithJsonSchema(
        {"type": "integer", "minimum": 0, "description": "Milliseconds since the epoch (UTC)."}
    ),
]
