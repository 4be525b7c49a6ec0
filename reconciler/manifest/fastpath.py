"""The common manifest, checked without pydantic: friendly entries completed by their file's
defaults, every value one of the plain shapes users write.

Importing pydantic and compiling the manifest's validators costs more than checking a
2,000-entry file (issue 14). This path accepts a document only when every key is one it knows
and every value passes the same checks the models run (reconciler/fields.py); anything else,
including every problem, makes it decline (None), and `modelled.py` checks the file with
pydantic, which stays the source of truth and of the published schema. It never reports a
problem itself, so it cannot word one differently; a property test holds it to giving exactly
the specs the models give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.fields import (
    FieldProblem,
    check_event_data_store_arn,
    check_import_id,
    check_name,
    check_region,
    check_role_arn,
    check_s3_uri,
    parse_event_time,
)
from reconciler.manifest.yamlsource import ParsedYaml, Position
from reconciler.spec import ImportSpec, PreflightPolicy, RetryPolicy, SourceLocation

MAX_ATTEMPTS_LIMIT = 20  # RetryFields' own bound; tests/test_fastpath.py checks they agree

_TOP_KEYS = frozenset({"version", "defaults", "imports"})
_SOURCE_CHECKS: dict[str, Callable[[Any], str]] = {
    "uri": check_s3_uri,
    "bucket_region": check_region,
    "role_arn": check_role_arn,
}
_SHARED_CHECKS: dict[str, Callable[[Any], Any]] = {
    "destination": check_event_data_store_arn,
    "start_event_time": parse_event_time,
    "end_event_time": parse_event_time,
}
_DEFAULT_KEYS = frozenset({*_SHARED_CHECKS, "source", "retry"})
_ENTRY_KEYS = frozenset({*_DEFAULT_KEYS, "name", "import_id", "allow_overlap"})


class _Declined(Exception):
    """Something the fast path does not vouch for: the models decide."""


def document_specs(
    path: str, data: Mapping[Any, Any], parsed: ParsedYaml
) -> list[ImportSpec] | None:
    """The specs of a document of the common shape, or None to have the models check it."""
    try:
        return _specs(path, data, parsed)
    except (_Declined, FieldProblem):
        return None


def _specs(path: str, data: Mapping[Any, Any], parsed: ParsedYaml) -> list[ImportSpec]:
    _known_keys(data, _TOP_KEYS)
    version = data.get("version")
    if type(version) is not int or version != 1:
        raise _Declined
    defaults = _checked(_mapping(data.get("defaults", {})), _DEFAULT_KEYS)
    entries = data.get("imports", [])
    if not isinstance(entries, list):
        raise _Declined
    starts = parsed.item_positions(("imports",))
    specs = []
    for index, raw in enumerate(entries):
        entry = _checked(_mapping(raw), _ENTRY_KEYS)
        where = starts[index] if index < len(starts) else Position(1, 1)
        specs.append(_spec(entry, defaults, SourceLocation(path, index, where.line, where.column)))
    return specs


def _spec(entry: dict[str, Any], defaults: dict[str, Any], location: SourceLocation) -> ImportSpec:
    if "name" not in entry:
        raise _Declined
    source = {**defaults.get("source", {}), **entry.get("source", {})}
    merged = {**defaults, **entry}
    start, end = merged.get("start_event_time"), merged.get("end_event_time")
    if start is not None and end is not None and not start < end:
        raise _Declined
    try:
        return ImportSpec(
            name=entry["name"],
            destination=merged["destination"],
            source_uri=source["uri"],
            bucket_region=source["bucket_region"],
            role_arn=source["role_arn"],
            start=start,
            end=end,
            retry=RetryPolicy(**{**defaults.get("retry", {}), **entry.get("retry", {})}),
            location=location,
            import_id=entry.get("import_id"),
            allow_overlap=entry.get("allow_overlap", False),
            preflight=PreflightPolicy(),
        )
    except KeyError:  # a field neither the entry nor the defaults give: the models word it
        raise _Declined from None


def _checked(given: Mapping[Any, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """`given` with each value checked (and times parsed) as the models would."""
    _known_keys(given, allowed)
    checked: dict[str, Any] = {}
    for key, value in given.items():
        if key == "import_id":
            checked[key] = check_import_id(value)  # None and "" both mean no pin, as in the models
            continue
        if value is None:
            raise _Declined  # `key: null` means "not given" to the models; rare, so let them
        if key == "source":
            source = _mapping(value)
            _known_keys(source, frozenset(_SOURCE_CHECKS))
            checked[key] = {name: _SOURCE_CHECKS[name](_given(v)) for name, v in source.items()}
        elif key == "retry":
            checked[key] = _retry(_mapping(value))
        elif key in ("name", "allow_overlap"):
            checked[key] = check_name(value) if key == "name" else _strict_bool(value)
        else:
            checked[key] = _SHARED_CHECKS[key](value)
    return checked


def _retry(given: Mapping[Any, Any]) -> dict[str, Any]:
    _known_keys(given, frozenset({"max_attempts", "stopped"}))
    attempts = given.get("max_attempts", 3)
    if type(attempts) is not int or not 1 <= attempts <= MAX_ATTEMPTS_LIMIT:
        raise _Declined
    retry = dict(given)
    if "stopped" in given:
        retry["stopped"] = _strict_bool(given["stopped"])
    return retry


def _strict_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Declined
    return value


def _given(value: Any) -> Any:
    if value is None:
        raise _Declined
    return value


def _mapping(value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, dict):
        raise _Declined
    return value


def _known_keys(given: Mapping[Any, Any], allowed: frozenset[str]) -> None:
    if not allowed.issuperset(given):
        raise _Declined


__all__ = ["document_specs"]
