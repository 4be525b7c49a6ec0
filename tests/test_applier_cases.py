"""Table-driven apply tests against the in-memory Lake (tests/fakes.py): no server, no HTTP.

Each file in tests/applier_cases/ is one situation: `desired` entries (store `east`, `west`
or `other-east`, a January 2026 `day`), the fake Lake's `imports` and the `answers` its next
StartImport calls give (an error code, or `lose` for an answer that never arrives), and
`steps`: one `apply` each (no --wait), with the names it must have started, after which the
Lake may `finish` its running imports. `expect` checks the StartImport calls in all, the
imports the Lake holds, and per record its attempts' outcomes, intent and backoff.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.apply.runner import Applier
from reconciler.apply.types import ApplyOptions
from reconciler.observed import ObservedImport
from reconciler.plan.desired import Desired, PlanOptions, Scope
from reconciler.plan.observe import observe
from reconciler.plan.planner import plan
from reconciler.plan.saved import SavedPlan
from reconciler.ports import StartRequest
from reconciler.spec import ImportSpec, RetryPolicy, SourceLocation
from reconciler.state.keeper import StateKeeper
from reconciler.state.local import LocalStateStore
from tests.fakes import FakeLake, new_id

CASES = Path(__file__).parent / "applier_cases"
STORES = {
    "east": "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/east",
    "west": "arn:aws:cloudtrail:us-west-2:123456789012:eventdatastore/west",
    "other-east": "arn:aws:cloudtrail:us-east-1:210987654321:eventdatastore/other",
}
URI = "s3://trail-logs/AWSLogs/"
ROLE = "arn:aws:iam::123456789012:role/LakeImport"


def _day(day: int) -> tuple[datetime, datetime]:
    start = datetime(2026, 1, day, tzinfo=UTC)
    return start, start + timedelta(days=1, seconds=-1)


def _spec(index: int, entry: dict[str, Any]) -> ImportSpec:
    start, end = _day(entry.get("day", 5))
    return ImportSpec(
        name=entry["name"],
        destination=STORES[entry["store"]],
        source_uri=URI,
        bucket_region="us-east-1",
        role_arn=ROLE,
        start=start,
        end=end,
        retry=RetryPolicy(entry.get("max_attempts", 3)),
        location=SourceLocation("manifests/imports.yaml", index, index + 3, 5),
    )


def _lake(data: dict[str, Any]) -> FakeLake:
    lake = FakeLake(
        answers=list(data.get("answers", [])), ongoing_scope=data.get("ongoing_scope", "account")
    )
    for entry in data.get("imports", []):
        destination = STORES[entry["store"]]
        start, end = _day(entry.get("day", 5))
        import_id = new_id()
        lake.imports[import_id] = ObservedImport(
            import_id=import_id,
            status=entry.get("status", "COMPLETED"),
            account=destination.split(":")[4],
            region=destination.split(":")[3],
            destination=destination,
            created=lake.now - timedelta(days=1),
            updated=lake.now - timedelta(days=1),
            detailed=True,
            source_uri=URI,
            start=start,
            end=end,
            statistics={"EventsCompleted": 0},
        )
    return lake


def _step(lake: FakeLake, specs: tuple[ImportSpec, ...], store: LocalStateStore, case: Any) -> None:
    options = case.get("options", {})
    plan_options = PlanOptions(
        retry_backoff=timedelta(seconds=options.get("retry_backoff_seconds", 0)),
        queue_scope=options.get("queue_scope", "account"),
    )
    with store.lock("tests: applier case"):
        _apply_once(lake, specs, store, plan_options)


def _apply_once(
    lake: FakeLake, specs: tuple[ImportSpec, ...], store: LocalStateStore, plan_options: PlanOptions
) -> None:
    document = store.read()
    desired = Desired(specs=specs, scope=Scope(("manifests",)))
    shown = plan(desired, document, observe(lake.reader, desired, document), lake.now, plan_options)
    saved = SavedPlan(
        plan=shown, specs=specs, scope=("manifests",), queue_scope=plan_options.queue_scope
    )
    apply_options = ApplyOptions(
        throttle_backoff=0.0,
        poll_interval=0.0,
        plan_options=replace(plan_options, startable=frozenset(a.name for a in shown.actions)),
    )
    Applier(saved, StateKeeper(store, document), lake, apply_options, clock=lambda: lake.now).run()


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_applier_case(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    lake = _lake(case.get("lake", {}))
    specs = tuple(_spec(i, entry) for i, entry in enumerate(case["desired"]))
    store = LocalStateStore(tmp_path / "state.json")
    for number, step in enumerate(case["steps"], start=1):
        before = len(lake.calls)
        known = set(lake.imports)
        _step(lake, specs, store, case)
        new = [i for i in lake.imports if i not in known]
        started = [
            next(s.name for s in specs if s.destination == lake.imports[i].destination
                 and s.start == lake.imports[i].start)
            for i in new
        ]  # fmt: skip
        retried = [
            name
            for request in lake.calls[before:]
            if request.import_id
            for name, record in store.read().imports.items()
            if record.import_id == request.import_id
        ]
        assert sorted(set(started + retried)) == sorted(step["expect_started"]), f"step {number}"
        if step.get("finish"):
            lake.finish(step["finish"])
        lake.now += timedelta(minutes=1)
    expect = case["expect"]
    assert len(lake.calls) == expect["calls"]
    if "imports" in expect:
        assert len(lake.imports) == expect["imports"]
    records = store.read().imports
    for name, want in expect.get("records", {}).items():
        record = records.get(name)
        if want is None:
            assert record is None, name
            continue
        assert record is not None, name
        if "attempts" in want:
            assert [str(a.outcome) for a in record.attempts] == want["attempts"], name
        if "intent" in want:
            assert (record.intent is not None) is want["intent"], name
        if "next_retry_at" in want:
            assert (record.next_retry_at is not None) is want["next_retry_at"], name
        if "status" in want:
            assert record.status == want["status"], name
        if want.get("adopted"):
            assert record.import_id in lake.imports, name


def test_cases_cover_what_apply_decides() -> None:
    texts = " ".join(path.read_text() for path in CASES.glob("*.yaml"))
    for needed in ("ThrottlingException", "lose", "InvalidEventDataStoreStatusException",
                   "queue_scope: region", "IN_PROGRESS", "FAILED"):  # fmt: skip
        assert needed in texts, needed


def test_the_fake_lake_refuses_a_second_ongoing_import_per_account() -> None:
    lake = _lake({"imports": [{"store": "west", "status": "IN_PROGRESS"}]})
    spec = _spec(0, {"name": "x", "store": "east"})

    outcome = lake.start_import(
        StartRequest(region=spec.region, account=spec.account, destination=spec.destination,
                     source_uri=URI, bucket_region="us-east-1", role_arn=ROLE)
    )  # fmt: skip
    assert outcome.code == "AccountHasOngoingImportException"
