"""Table-driven planner tests: each file in tests/planner_cases/ is one situation.

A case gives `now`, the `desired` entries, the `state` records and the `observed` imports in
a compact form (unset fields take the defaults below) and `expect`s the actions in order:
name, action, and the exact reason, plus any of import_id, queue_position, blocked_by,
previous_name, changes, findings (`severity code` each). `unmanaged` lists the ImportIds
expected there. UPDATE_GOLDEN=1 rewrites the expected reasons (review the diff).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from reconciler.observed import Failure, Observed, ObservedImport
from reconciler.outcomes import AttemptKind, StartResult
from reconciler.plan.desired import Desired, PlanOptions, Scope
from reconciler.plan.planner import plan
from reconciler.spec import Identity, ImportSpec, RetryPolicy, SourceLocation
from reconciler.state.document import Attempt, ImportRecord, Intent, StateDocument

CASES = Path(__file__).parent / "planner_cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

ACCOUNT = "123456789012"
STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/store-east"
WEST = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:eventdatastore/store-west"
URI = f"s3://trail-logs/AWSLogs/{ACCOUNT}/CloudTrail/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LakeImport"
FILE = "manifests/main.yaml"
STORES = {"east": STORE, "west": WEST}


def _t(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _required(value: Any) -> datetime:
    """A time the case must give: no silent fallback to the wall clock (a case that forgot
    one would pass or fail by the day it runs)."""
    moment = _t(value)
    if moment is None:
        raise ValueError("planner case: a required time is missing")
    return moment


def _store(value: str | None) -> str:
    return STORES.get(value or "east", value or STORE)


def _spec(index: int, entry: dict[str, Any]) -> ImportSpec:
    return ImportSpec(
        name=entry["name"],
        destination=_store(entry.get("destination")),
        source_uri=entry.get("source_uri", URI),
        bucket_region=entry.get("bucket_region", "us-east-1"),
        role_arn=entry.get("role_arn", ROLE),
        start=_t(entry.get("start", "2024-01-01T00:00:00Z")),
        end=_t(entry.get("end", "2024-01-31T23:59:59Z")),
        retry=RetryPolicy(entry.get("max_attempts", 3), entry.get("stopped", False)),
        location=SourceLocation(entry.get("file", FILE), entry.get("index", index), index + 3, 5),
        import_id=entry.get("import_id"),
        allow_overlap=entry.get("allow_overlap", False),
    )


def _record(name: str, entry: dict[str, Any]) -> ImportRecord:
    return ImportRecord(
        name=name,
        manifest_file=entry.get("file", FILE),
        identity=Identity(
            _store(entry.get("destination")),
            entry.get("source_uri", URI),
            _t(entry.get("start", "2024-01-01T00:00:00Z")),
            _t(entry.get("end", "2024-01-31T23:59:59Z")),
        ),
        bucket_region=entry.get("bucket_region", "us-east-1"),
        role_arn=entry.get("role_arn", ROLE),
        max_attempts=entry.get("max_attempts", 3),
        retry_stopped=entry.get("stopped", False),
        spec_hash="",
        import_id=entry.get("import_id"),
        status=entry.get("status"),
        attempts=tuple(
            Attempt(
                at=_required(a["at"]),
                kind=AttemptKind(a.get("kind", "create")),
                outcome=StartResult(a.get("outcome", "started")),
                import_id=a.get("import_id"),
                error=a.get("error"),
                code=a.get("code"),
            )
            for a in entry.get("attempts", [])
        ),
        next_retry_at=_t(entry.get("next_retry_at")),
        intent=Intent(
            kind=AttemptKind(entry["intent"].get("kind", "create")),
            at=_required(entry["intent"]["at"]),
            import_id=entry["intent"].get("import_id"),
        )
        if entry.get("intent")
        else None,
        not_ours=tuple(entry.get("not_ours", ())),
        statistics=entry.get("statistics"),
    )


def _observed(entry: dict[str, Any]) -> ObservedImport:
    destination = _store(entry.get("destination"))
    region = destination.split(":")[3]
    detailed = entry.get("detailed", True)
    return ObservedImport(
        import_id=entry["import_id"],
        status=entry.get("status", "COMPLETED"),
        account=ACCOUNT,
        region=region,
        destination=destination,
        created=_t(entry.get("created", "2026-01-01T00:00:00Z")),
        updated=_t(entry.get("updated", entry.get("created", "2026-01-01T00:00:00Z"))),
        detailed=detailed,
        source_uri=entry.get("source_uri", URI) if detailed else None,
        start=_t(entry.get("start", "2024-01-01T00:00:00Z")) if detailed else None,
        end=_t(entry.get("end", "2024-01-31T23:59:59Z")) if detailed else None,
        role_arn=entry.get("role_arn", ROLE) if detailed else None,
        statistics=entry.get("statistics"),
        failures=tuple(Failure(**f) for f in entry.get("failures", [])),
    )


def run_case(case: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    specs = tuple(_spec(i, entry) for i, entry in enumerate(case.get("desired", [])))
    state = StateDocument(
        lineage="lineage-1" if case.get("state") else "",
        serial=1 if case.get("state") else 0,
        imports=MappingProxyType({n: _record(n, e) for n, e in (case.get("state") or {}).items()}),
    )
    imports = [_observed(entry) for entry in case.get("observed", [])]
    observed = Observed(
        imports=MappingProxyType({o.import_id: o for o in imports}),
        places=frozenset({(ACCOUNT, "us-east-1"), (ACCOUNT, "us-west-2")}),
        errors=MappingProxyType(
            {tuple(k.split("/")): v for k, v in (case.get("errors") or {}).items()}
        ),
    )
    options = case.get("options", {})
    result = plan(
        Desired(specs=specs, scope=Scope(tuple(case.get("scope", ["manifests"])))),
        state,
        observed,
        _required(case["now"]),
        PlanOptions(
            targets=frozenset(options.get("targets", [])),
            replace=frozenset(options.get("replace", [])),
            grace=timedelta(minutes=options.get("grace_minutes", 10)),
            retry_backoff=timedelta(seconds=options.get("retry_backoff_seconds", 60)),
            retry=frozenset(options.get("retry", [])),
            queue_scope=options.get("queue_scope", "account"),
            settled=frozenset(options.get("settled", [])),
        ),
    )
    return [asdict(a) | {"action": a.action.value} for a in result.actions], [
        u.import_id for u in result.unmanaged
    ]


CASE_FILES = sorted(CASES.glob("*.yaml"))


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_planner_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    actions, unmanaged = run_case(case)
    expected = case["expect"]
    if UPDATE:
        for want, got in zip(expected, actions, strict=False):
            want["reason"] = got["reason"]
        path.write_text(yaml.safe_dump(case, sort_keys=False, width=100))
    assert [(a["name"], a["action"]) for a in actions] == [
        (e["name"], e["action"]) for e in expected
    ]
    for want, got in zip(expected, actions, strict=True):
        for key, value in want.items():
            if key == "changes":
                got_changes = {c["field"]: [c["before"], c["after"]] for c in got["changes"]}
                assert got_changes == value, f"{want['name']}: changes"
            elif key == "findings":  # `severity code` of each finding, in order
                shown = [f"{f['severity']} {f['code']}" for f in got["findings"]]
                assert shown == value, f"{want['name']}: findings"
            else:
                assert got[key] == value, f"{want['name']}: {key}"
    assert unmanaged == case.get("unmanaged", [])


def test_there_is_a_case_for_every_action_and_status() -> None:
    seen_actions: set[str] = set()
    seen_status: set[str] = set()
    for path in CASE_FILES:
        case = yaml.safe_load(path.read_text())
        seen_actions |= {e["action"] for e in case["expect"]}
        seen_status |= {o.get("status", "COMPLETED") for o in case.get("observed", [])}
    assert seen_actions >= {
        "create", "adopt", "rename", "retry", "running", "pending", "queued", "noop",
        "replace", "forget", "attention",
    }  # fmt: skip
    assert seen_status >= {"INITIALIZING", "IN_PROGRESS", "COMPLETED", "FAILED", "STOPPED"}
