"""Turn pydantic's validation errors into the sentences a manifest author needs.

Pydantic's own wording ("Input should be a valid dictionary or instance of ...") names Python
types; ours names keys and YAML shapes, and suggests the key that was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.manifest.models import (
    API_KEYS,
    EXPORT_API_KEYS,
    FRIENDLY_KEYS,
    AccountAccess,
    ApiEntry,
    ApiExport,
    ApiExportFilter,
    ApiImportSource,
    ApiS3Source,
    Defaults,
    ExportDefaults,
    FriendlyEntry,
    FriendlyExport,
    ManifestHeader,
    RetryFields,
    SourceFields,
)

Path = tuple[str | int, ...]

# Which model describes the mapping under a key of that name (for "unknown key" suggestions).
_MODEL_UNDER_KEY: dict[str, type[BaseModel]] = {
    "defaults": Defaults,
    "source": SourceFields,
    "retry": RetryFields,
    "ImportSource": ApiImportSource,
    "S3": ApiS3Source,
    "exports": ExportDefaults,  # defaults.exports (an entry's path has its index last)
    "importFilter": ApiExportFilter,
}
_MODEL_UNDER_KEY_PARENT: dict[str, type[BaseModel]] = {"accounts": AccountAccess}
_TAGS: dict[str, type[BaseModel]] = {"friendly": FriendlyEntry, "api": ApiEntry}
EXPORT_TAGS: dict[str, type[BaseModel]] = {"friendly": FriendlyExport, "api": ApiExport}
_FRIENDLY_EXPORT_KEYS = frozenset(FriendlyExport.model_fields) - {"name", "allow_overlap", "fills"}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null (empty value)"
    return "string" if isinstance(value, str) else type(value).__name__


def _model_at(root: type[BaseModel], parent: Path) -> type[BaseModel]:
    if parent and isinstance(parent[-1], str) and parent[-1] in _MODEL_UNDER_KEY:
        return _MODEL_UNDER_KEY[parent[-1]]
    if len(parent) >= 2 and parent[-2] in _MODEL_UNDER_KEY_PARENT:  # accounts.<id>.<key>
        return _MODEL_UNDER_KEY_PARENT[str(parent[-2])]
    return root


def _unknown_key(root: type[BaseModel], path: Path) -> str:
    key = str(path[-1])
    model = _model_at(root, path[:-1])
    if model is ApiEntry and key in FRIENDLY_KEYS:
        return (
            f"'{key}' belongs to the friendly shape, but this entry uses the API shape "
            f"({', '.join(sorted(API_KEYS))}); write each entry wholly in one shape"
        )
    if model is ApiExport and key in _FRIENDLY_EXPORT_KEYS:
        return (
            f"'{key}' belongs to the friendly shape, but this export uses the API shape "
            f"({', '.join(sorted(EXPORT_API_KEYS))}); write each export wholly in one shape"
        )
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}; expected one of: {', '.join(allowed)}"


def _message(error: Any, root: type[BaseModel], path: Path) -> tuple[str, bool]:
    """(message, whether it is about the key rather than the value)."""
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    if kind == "missing":
        return "is required", False
    if kind == "extra_forbidden":
        return _unknown_key(root, path), True
    if kind == "literal_error" and path == ("version",):
        return (
            f"must be 1, the only manifest version this reconcile understands; got {value!r}",
            False,
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping; got a {_kind(value)}", False
    if kind == "list_type":
        return f"must be a list; got a {_kind(value)}", False
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false; got {value!r}", False
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number; got {value!r}", False
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}; got {value!r}", False
    if kind == "less_than_equal":
        return f"must be at most {context.get('le')}; got {value!r}", False
    if kind == "string_pattern_mismatch" and path and path[-1] == "[key]":
        return f"account IDs are 12 digits; got {value!r}", True
    if kind in ("too_short", "too_long") and path and path[-1] == "Destinations":
        return (
            "must list exactly one event data store ARN (StartImport takes exactly one "
            f"destination); got {len(value) if isinstance(value, list) else value!r}"
        ), False
    return str(error["msg"]), False


def problems_from_validation(
    exc: ValidationError,
    root: type[BaseModel] = ManifestHeader,
    *,
    tagged: bool = False,
    tags: dict[str, type[BaseModel]] | None = None,
) -> Iterator[tuple[Path, str, bool]]:
    """(path, message, at_key) per error; `tagged` strips a union tag at the front of the path
    (`tags`: the models behind the tags; an import entry's by default)."""
    tags = tags or _TAGS
    for error in exc.errors(include_url=False):
        path: Path = tuple(error["loc"])
        model = root
        if tagged and path and path[0] in tags:
            model = tags[str(path[0])]
            path = path[1:]
        message, at_key = _message(error, model, path)
        if path and path[-1] == "[key]":  # pydantic's marker for "the key itself"
            path = path[:-1]
        yield path, message, at_key
