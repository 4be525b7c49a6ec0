"""Checks that a saved plan file is what `reconcile plan --out` wrote (DESIGN.md, "Apply safety").

A plan file is shown and applied without the manifests, so nothing in it is trusted: every spec
is checked as strictly as a manifest entry, every action's fields by type, the options by type,
and specs and actions must agree: each spec has its action, each action that needs a spec has
one, and what an action shows (identity, destination, attributes, place, order) is what its
spec would do. Anything else means the file was edited or damaged, and it is refused with one
sentence naming the entry and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from functools import partial
from typing import Any

from reconciler.fields import (
    arn_parts,
    check_event_data_store_arn,
    check_import_id,
    check_name,
    check_region,
    check_role_arn,
    check_s3_uri,
    parse_time,
)
from reconciler.plan.desired import QUEUE_SCOPES
from reconciler.plan.types import Action, ActionKind, IdentityView, Severity
from reconciler.preflight.codes import IGNORABLE
from reconciler.spec import AccountAccess

# models.MAX_ATTEMPTS_LIMIT, mirrored: importing the pydantic models would cost every `show`
# about 45 ms. tests/test_planfile_trust.py keeps the two equal.
MAX_ATTEMPTS_LIMIT = 20

# Kinds apply cannot carry out without the entry's spec (it starts or records from it).
NEEDS_SPEC = frozenset(
    ActionKind(kind)
    for kind in ("create", "retry", "replace", "adopt", "rename", "queued", "pending")
)
_UTC_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

Check = Callable[[Any], object]


class Refused(Exception):
    """Why a plan file is refused: the words after "plan file FILE ", naming entry and field."""


def shown(value: Any) -> str:
    return json.dumps(value)


def refused(where: str, field: str, message: str) -> Refused:
    """A field's problem; `where` names the entry, as in 'specs[2] (name "x")'."""
    return Refused(f"is refused: {where}, field {field}: {message}")


# -- value checks (each raises ValueError; fields' FieldProblem is one) ---


def _utc_text(value: Any) -> None:
    """Stored times are written one way only; another spelling means the file was edited."""
    if value is None:
        return
    if not isinstance(value, str) or not _UTC_TEXT.match(value):
        raise ValueError(
            f"must be a UTC time written YYYY-MM-DDTHH:MM:SSZ, or null; got {shown(value)}"
        )
    try:
        parse_time(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not a real time") from None


def _whole(value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):  # JSON true is a Python int
        raise ValueError(f"must be a whole number, not {shown(value)}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"must be {bounds}; got {value}")
    return value


_max_attempts = partial(_whole, low=1, high=MAX_ATTEMPTS_LIMIT)
_count = partial(_whole, low=0)


def _typed(kind: type, what: str) -> Check:
    def check(value: Any) -> None:
        if not isinstance(value, kind):
            raise ValueError(f"must be {what}, not {shown(value)}")

    return check


_flag = _typed(bool, "true or false")
_text = _typed(str, "a string")
_object = _typed(dict, "a JSON object")


def _matching(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern, re.DOTALL)

    def check(value: Any) -> None:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(f"must be {what}, not {shown(value)}")

    return check


_account = _matching(r"\d{12}", "a 12-digit account ID")


def _amount(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e15:
        raise ValueError(f"must be a number of US dollars, not {shown(value)}")


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _objects(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"must be a list of JSON objects, not {shown(value)}")


def _one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)

    def check(value: Any) -> None:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}; got {shown(value)}")

    return check


_kind = _one_of(kind.value for kind in ActionKind)


def _pinned_id(value: Any) -> None:
    # check_import_id reads a manifest's "" as "no pin"; `plan --out` writes null for that.
    if value == "":
        raise ValueError('must be an ImportId or null, not ""')
    check_import_id(value)


# -- walking a document -------------------------------------------------------------------


def _at(data: Any, dotted: str, where: str, prefix: str = "") -> Any:
    value = data
    walked: list[str] = []
    for key in dotted.split("."):
        if not isinstance(value, dict):
            field = prefix + ".".join(walked) or "(the entry itself)"
            raise refused(where, field, f"must be a JSON object, not {shown(value)}")
        walked.append(key)
        if key not in value:
            raise refused(where, prefix + ".".join(walked), "is missing")
        value = value[key]
    return value


def _check_fields(
    data: Any,
    where: str,
    required: Iterable[tuple[str, Check]],
    optional: Iterable[tuple[str, Check]] = (),
    prefix: str = "",
) -> None:
    """Each (dotted field, check) of `data`; optional fields are top-level keys."""
    checks = [(field, check, True) for field, check in required]
    checks += [(field, check, False) for field, check in optional]
    for field, check, needed in checks:
        if not needed and (not isinstance(data, dict) or field not in data):
            continue
        try:
            check(_at(data, field, where, prefix))
        except ValueError as exc:  # FieldProblem is one
            raise refused(where, prefix + field, str(exc)) from None


def _where(kind: str, index: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"{kind}[{index}] (name {shown(name)})" if isinstance(name, str) else f"{kind}[{index}]"


def _entries(document: Mapping[str, Any], key: str) -> list[Any]:
    items = document.get(key, [])
    if not isinstance(items, list):
        raise refused("the document", key, f"must be a list, not {shown(items)}")
    return items


def _unique(values: Sequence[Any], kind: str, field: str = "name") -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise refused(f"{kind}[{index}]", field, f"{shown(value)} is there twice")
        seen.add(value)


def _preflight(value: Any) -> None:
    if not isinstance(value, dict) or set(value) != {"ignore", "price_per_gb"}:
        raise ValueError(f"must be an object with ignore and price_per_gb, not {shown(value)}")
    ignore, price = value["ignore"], value["price_per_gb"]
    if not isinstance(ignore, list) or not set(ignore) <= IGNORABLE:
        raise ValueError(f"ignore must list preflight codes, not {shown(ignore)}")
    if price is not None:
        _amount(price)


# -- specs ----------------------------------------------------------------------------------

_IDENTITY_FIELDS: tuple[tuple[str, Check], ...] = (
    ("identity.destination", check_event_data_store_arn),
    ("identity.source_uri", check_s3_uri),
    ("identity.start", _utc_text),
    ("identity.end", _utc_text),
)
_SPEC_FIELDS: tuple[tuple[str, Check], ...] = (
    ("name", check_name),
    *_IDENTITY_FIELDS,
    ("attributes.bucket_region", check_region),
    ("attributes.role_arn", check_role_arn),
    ("attributes.retry.max_attempts", _max_attempts),
    ("attributes.retry.stopped", _flag),
    ("location.file", _text),
    ("location.index", _count),
    ("location.line", _count),
    ("location.column", _count),
)
_SPEC_OPTIONAL: tuple[tuple[str, Check], ...] = (
    ("import_id", _optional(_pinned_id)),
    ("allow_overlap", _flag),
    ("preflight", _preflight),
)


def check_specs(document: Mapping[str, Any]) -> None:
    specs = _entries(document, "specs")
    for index, data in enumerate(specs):
        where = _where("specs", index, data)
        _check_fields(data, where, _SPEC_FIELDS, _SPEC_OPTIONAL)
        start, end = data["identity"]["start"], data["identity"]["end"]
        if start is not None and end is not None and not start < end:  # same-format UTC text
            raise refused(where, "identity.end", f"{end} is not after the start, {start}")
    _unique([data["name"] for data in specs], "specs")
    # The planner orders entries by location; two in one place would make that order a guess.
    places = [(data["location"]["file"], data["location"]["index"]) for data in specs]
    _unique(places, "specs", "location")


# -- actions --------------------------------------------------------------------------------

_ACTION_FIELDS: tuple[tuple[str, Check], ...] = (
    ("name", check_name),
    ("action", _kind),
    ("reason", _text),
    ("account", _account),
    ("region", check_region),
    ("destination", check_event_data_store_arn),
    *_IDENTITY_FIELDS,
    ("attributes", _object),
)
_ACTION_OPTIONAL: tuple[tuple[str, Check], ...] = (
    ("import_id", _optional(_pinned_id)),
    ("changes", _objects),
    ("failures", _objects),
    ("progress", _optional(_object)),
    ("queue_position", _optional(_count)),
    ("blocked_by", _optional(_text)),
    ("not_before", _utc_text),
    ("manifest", _optional(_text)),
    ("previous_name", _optional(check_name)),
    ("outcome", _optional(_text)),
    ("findings", _objects),
    ("estimate", _optional(_object)),
)
_ACTION_KEYS = frozenset(f.name for f in fields(Action))
IDENTITY_KEYS = tuple(f.name for f in fields(IdentityView))


def check_actions(document: Mapping[str, Any]) -> None:
    actions = _entries(document, "actions")
    for index, data in enumerate(actions):
        where = _where("actions", index, data)
        _check_fields(data, where, _ACTION_FIELDS, _ACTION_OPTIONAL)
        unknown = sorted(set(data) - _ACTION_KEYS) or [
            f"identity.{key}" for key in sorted(set(data["identity"]).difference(IDENTITY_KEYS))
        ]
        if unknown:
            raise refused(where, unknown[0], "is not a field of a plan action")
        _check_place(data, where)
        _check_parts(data, where)
    _unique([data["name"] for data in actions], "actions")
    for index, data in enumerate(_entries(document, "unmanaged")):
        _check_fields(data, f"unmanaged[{index}]", _UNMANAGED_FIELDS)


_COUNTS = ("prefixes_found", "prefixes_completed", "files_completed", "events_completed")
_PROGRESS_OPTIONAL = (
    *((key, _optional(_count)) for key in (*_COUNTS, "failed_entries")),
    ("updated", _utc_text),
)
_FAILURE_FIELDS = tuple(
    (key, _text) for key in ("location", "status", "error_type", "error_message")
)
_FINDING_FIELDS: tuple[tuple[str, Check], ...] = (
    ("code", _text),
    ("severity", _one_of(severity.value for severity in Severity)),
    ("message", _text),
    ("fix", _text),
)
_ESTIMATE_FIELDS: tuple[tuple[str, Check], ...] = (
    *((key, _count) for key in ("files", "bytes", "uncompressed_bytes")),
    ("cost_usd", _amount),
)
_UNMANAGED_FIELDS = (
    *((key, _text) for key in ("import_id", "status", "account", "region")),
    ("destination", _optional(_text)),
    ("created", _utc_text),
)


def _check_parts(data: Mapping[str, Any], where: str) -> None:
    """What show formats (counts with separators, texts) must have its type, or it would crash."""
    if data.get("progress") is not None:
        _check_fields(
            data["progress"], where, (("status", _text),), _PROGRESS_OPTIONAL, "progress."
        )
    for index, failure in enumerate(data.get("failures", [])):
        optional = (("last_updated", _optional(_text)),)
        _check_fields(failure, where, _FAILURE_FIELDS, optional, f"failures[{index}].")
    for index, change in enumerate(data.get("changes", [])):
        _check_fields(change, where, (("field", _text),), (), f"changes[{index}].")
    for index, finding in enumerate(data.get("findings", [])):
        _check_fields(finding, where, _FINDING_FIELDS, (), f"findings[{index}].")
    if data.get("estimate") is not None:
        check_estimate(data["estimate"], where, "estimate.")


def check_estimate(data: Any, where: str, prefix: str) -> None:
    _check_fields(data, where, _ESTIMATE_FIELDS, (), prefix)


def _check_place(data: Mapping[str, Any], where: str) -> None:
    """An action is carried out where its account and Region say: they must be its ARN's."""
    destination = data["destination"]
    account, region = arn_parts(destination)
    written = {
        "account": (data["account"], account),
        "region": (data["region"], region),
        "identity.destination": (data["identity"]["destination"], destination),
    }
    for field, (value, expected) in written.items():
        if value != expected:
            raise refused(
                where, field, f"{shown(value)} is not that of its destination {destination}"
            )


# -- options and basis --------------------------------------------------------------------


def _names(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of entry names, not {shown(value)}")
    for name in value:
        check_name(name)


def _texts(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"must be a list of strings, not {shown(value)}")


def _shard(value: Any) -> None:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"must be [INDEX, COUNT] or null, not {shown(value)}")
    count = _whole(value[1], 1)
    _whole(value[0], 1, count)


_OPTION_FIELDS: tuple[tuple[str, Check], ...] = (
    ("targets", _names),
    ("replace", _names),
    ("retry", _names),
    ("queue_scope", _one_of(QUEUE_SCOPES)),
    ("scope", _texts),
    ("shard", _optional(_shard)),
    ("accounts", _optional(_objects)),
)
_ACCOUNT_OPTIONAL: tuple[tuple[str, Check], ...] = (
    ("role_arn", _optional(check_role_arn)),
    ("external_id", _optional(_matching(r".{2,1224}", "a string of 2-1224 characters"))),
    ("session_name", _optional(_matching(r"[\w+=,.@-]{2,64}", "2-64 letters, digits or +=,.@_-"))),
    ("profile", _optional(_matching(r".+", "a profile name"))),
    ("queue_scope", _optional(_one_of(QUEUE_SCOPES))),
    ("location", _text),
)
_ACCOUNT_KEYS = frozenset(f.name for f in fields(AccountAccess))
_BASIS_FIELDS: tuple[tuple[str, Check], ...] = (
    ("state_lineage", _optional(_text)),
    ("state_serial", _count),
    ("observed_fingerprint", _text),
    ("observed_import_ids", _texts),
    ("manifests", _objects),
)


def check_options(document: Mapping[str, Any]) -> None:
    options = document.get("options", {})
    if not isinstance(options, dict):
        raise refused("the document", "options", f"must be a JSON object, not {shown(options)}")
    _check_fields(options, "its options", (), _OPTION_FIELDS)
    accounts = options.get("accounts") or []
    for index, access in enumerate(accounts):
        _check_access(access, f"options.accounts[{index}]")
    _unique([access["account"] for access in accounts], "options.accounts", "account")


def _check_access(access: Mapping[str, Any], where: str) -> None:
    """How apply reaches an account: the rules of a manifest's `accounts:` entry."""
    _check_fields(access, where, (("account", _account),), _ACCOUNT_OPTIONAL)
    unknown = sorted(set(access) - _ACCOUNT_KEYS)
    if unknown:
        raise refused(where, unknown[0], "is not a field of account access")
    role, profile = access.get("role_arn"), access.get("profile")
    if role is not None and profile is not None:
        raise refused(where, "profile", "give one of role_arn and profile, not both")
    if role is None and profile is None and access.get("queue_scope") is None:
        raise refused(where, "role_arn", "give role_arn or profile (or queue_scope alone)")
    if profile is not None and (access.get("external_id") or access.get("session_name")):
        raise refused(where, "profile", "external_id and session_name go with role_arn")
    if role is not None and f":{access['account']}:role/" not in role:
        raise refused(where, "role_arn", f"the role must be in account {access['account']}")


def check_document(document: Mapping[str, Any]) -> None:
    """Types and values of everything apply reads, before anything is built from them."""
    _check_fields(document, "its basis", (("basis", _object),))
    _check_fields(document["basis"], "its basis", _BASIS_FIELDS)
    check_options(document)
    check_specs(document)
    check_actions(document)
    summary = document.get("summary")
    if isinstance(summary, dict) and summary.get("estimate") is not None:
        check_estimate(summary["estimate"], "its summary", "estimate.")
