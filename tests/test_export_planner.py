"""The exports' planner, table-driven: desired exports, state records, observed tasks and the
imports' plan in; one action per export out (pure: no I/O, time passed in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.exportspec import ExportIdentity, ExportSpec
from reconciler.observed_exports import ObservedBatch, ObservedExport
from reconciler.plan.exports import ExportObservation, ExportPlanInput, ExportRecord, plan_exports
from reconciler.plan.types import Action, ActionKind, IdentityView
from reconciler.spec import SourceLocation

ACCOUNT = "123456789012"
STORE_ID = "0b5c4a3e-1111-2222-3333-444455556666"
STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/{STORE_ID}"
OTHER_STORE = STORE.replace("0b5c4a3e", "9f9f9f9f")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/export"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
JAN = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, 23, 59, 59, 999000, tzinfo=UTC))
FEB = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC))
PLACE = (ACCOUNT, "us-east-1")


def export(
    name: str = "cw-jan", window: tuple[datetime, datetime] = JAN, **extra: Any
) -> ExportSpec:
    index = extra.pop("index", 0)
    return ExportSpec(name=name, source=extra.pop("source", STORE), role_arn=ROLE,
                      start=window[0], end=window[1],
                      location=SourceLocation("m.yaml", index, index + 3, 5), **extra)  # fmt: skip


def task(import_id: str, status: str = "COMPLETED", window: tuple[datetime, datetime] = JAN,
         **extra: Any) -> ObservedExport:  # fmt: skip
    values: dict[str, Any] = dict(import_id=import_id, status=status, account=ACCOUNT,
                                  region="us-east-1", source=STORE, start=window[0],
                                  end=window[1], bytes_imported=100,
                                  created=NOW - timedelta(hours=1))  # fmt: skip
    values.update(extra)
    return ObservedExport(**values)


def record(
    name: str = "cw-jan", window: tuple[datetime, datetime] = JAN, **extra: Any
) -> ExportRecord:
    return ExportRecord(name=name, identity=ExportIdentity(STORE, *window), **extra)


def import_action(name: str, kind: ActionKind, start: str, end: str, store: str = STORE) -> Action:
    return Action(name=name, action=kind, reason="", account=ACCOUNT, region="us-east-1",
                  destination=store, import_id=None,
                  identity=IdentityView(store, "s3://b/", start, end))  # fmt: skip


@dataclass
class Case:
    exports: list[ExportSpec]
    expected: list[tuple[str, str]]  # (name, action)
    tasks: list[ObservedExport] = field(default_factory=list)
    records: list[ExportRecord] = field(default_factory=list)
    imports: list[Action] = field(default_factory=list)
    errors: bool = False
    words: str = ""  # in the first action's reason
    targets: frozenset[str] = frozenset()
    in_scope: bool = True  # whether the run covers the records' manifest files
    busy: frozenset[str] = frozenset()  # stores with an import running (AWS's view)
    named: frozenset[str] | None = None
    replace: frozenset[str] = frozenset()  # --replace NAME
    log_days: dict[str, dict[str, int] | None] = field(default_factory=dict)


INTENT_YOUNG = NOW - timedelta(minutes=2)
INTENT_OLD = NOW - timedelta(hours=2)

CASES = {
    "new, nothing there: create": Case([export()], [("cw-jan", "create")]),
    "a task with its identity, started by hand: adopt, never twice": Case(
        [export()], [("cw-jan", "adopt")], tasks=[task("t1", "IN_PROGRESS")], words="t1"),
    "two tasks with its identity: ask which": Case(
        [export()], [("cw-jan", "attention")], tasks=[task("t1"), task("t2")], words="pin"),
    "a task of the store whose range meets it: copied twice": Case(
        [export(window=(datetime(2026, 1, 31, tzinfo=UTC), FEB[1]))], [("cw-jan", "attention")],
        tasks=[task("t1")], words="copied twice"),
    "ranges are closed: touching is meeting": Case(
        [export(window=(JAN[1], FEB[1]))], [("cw-jan", "attention")],
        tasks=[task("t1")], words="copied twice"),
    "renamed: state follows the name, nothing copied again, nothing forgotten": Case(
        [export("cw-january")], [("cw-january", "rename")],
        records=[record("cw-jan", import_id="t1")], tasks=[task("t1")]),
    "a task another entry owns is not adopted a second time": Case(
        [export(allow_overlap=True), export("cw-dup", index=1, allow_overlap=True)],
        [("cw-jan", "create"), ("cw-dup", "noop")],
        records=[record("cw-dup", import_id="t1")], tasks=[task("t1")]),
    "the same, allowed": Case(
        [export(window=(datetime(2026, 1, 31, tzinfo=UTC), FEB[1]), allow_overlap=True)],
        [("cw-jan", "create")], tasks=[task("t1")]),
    "a FAILED task that copied nothing is harmless": Case(
        [export(window=(datetime(2026, 1, 31, tzinfo=UTC), FEB[1]))], [("cw-jan", "create")],
        tasks=[task("t1", "FAILED", bytes_imported=0)]),
    "ranges of another store do not meet": Case(
        [export()], [("cw-jan", "create")], tasks=[task("t1", source=OTHER_STORE)]),
    "managed and copying: running": Case(
        [export()], [("cw-jan", "running")], tasks=[task("t1", "IN_PROGRESS")],
        records=[record(import_id="t1")]),
    "managed and completed: noop": Case(
        [export()], [("cw-jan", "noop")], tasks=[task("t1")], records=[record(import_id="t1")]),
    "managed and failed: attention with its failed batches, never a retry": Case(
        [export()], [("cw-jan", "attention")],
        tasks=[task("t1", "FAILED", error="1 of 3 batches failed.",
                    batches=(ObservedBatch("b1", "COMPLETED"),
                             ObservedBatch("b2", "FAILED", "KMS")))],
        records=[record(import_id="t1")], words="cannot retry"),
    "managed and cancelled: attention": Case(
        [export()], [("cw-jan", "attention")], tasks=[task("t1", "CANCELLED")],
        records=[record(import_id="t1")], words="second time"),
    "managed, range edited: attention, not a second copy": Case(
        [export(window=(JAN[0], FEB[1]))], [("cw-jan", "attention")], tasks=[task("t1")],
        records=[record(import_id="t1")], words="range changed"),
    "managed, task gone: attention": Case(
        [export()], [("cw-jan", "attention")], records=[record(import_id="t1")],
        words="no longer listed"),
    "intent, young, nothing listed: pending": Case(
        [export()], [("cw-jan", "pending")], records=[record(intent_at=INTENT_YOUNG)]),
    "intent, old, nothing listed: it never reached AWS, create": Case(
        [export()], [("cw-jan", "create")], records=[record(intent_at=INTENT_OLD)],
        words="never reached"),
    "intent answered by a task with its identity: adopt": Case(
        [export()], [("cw-jan", "adopt")], records=[record(intent_at=INTENT_OLD)],
        tasks=[task("t1", "IN_PROGRESS", created=INTENT_OLD + timedelta(seconds=1))],
        words="lost"),
    "intent, and another task of the store since: a person decides": Case(
        [export()], [("cw-jan", "attention")], records=[record(intent_at=INTENT_OLD)],
        tasks=[task("t9", window=FEB, created=INTENT_OLD + timedelta(seconds=1))],
        words="t9"),
    "intent, a task from before the intent is no answer": Case(
        [export()], [("cw-jan", "create")], records=[record(intent_at=INTENT_OLD)],
        tasks=[task("t0", window=FEB, created=INTENT_OLD - timedelta(hours=1))]),
    "three active tasks in the account: queued": Case(
        [export()], [("cw-jan", "queued")],
        tasks=[task(f"x{i}", "IN_PROGRESS", window=FEB, source=OTHER_STORE) for i in range(3)],
        words="3 active"),
    "two active: one create, then queued": Case(
        [export(), export("cw-feb", FEB, index=1)], [("cw-jan", "create"), ("cw-feb", "queued")],
        tasks=[task(f"x{i}", "IN_PROGRESS", source=OTHER_STORE) for i in range(2)]),
    "an import into the store still running over the range: wait for it": Case(
        [export()], [("cw-jan", "queued")],
        imports=[import_action("jan-10", ActionKind.RUNNING, "2026-01-10T00:00:00Z",
                               "2026-01-10T23:59:59Z")], words="partial set"),
    "a queued import one hour past the range still holds it (file times are not event times)":
        Case([export()], [("cw-jan", "queued")],
             imports=[import_action("feb-01", ActionKind.QUEUED, "2026-02-01T01:00:00Z",
                                    "2026-02-01T23:59:59Z")]),
    "a finished import, or one into another store, does not": Case(
        [export()], [("cw-jan", "create")],
        imports=[import_action("jan-10", ActionKind.NOOP, "2026-01-10T00:00:00Z",
                               "2026-01-10T23:59:59Z"),
                 import_action("jan-11", ActionKind.RUNNING, "2026-01-11T00:00:00Z",
                               "2026-01-11T23:59:59Z", store=OTHER_STORE)]),
    "the Region could not be listed: decide nothing": Case(
        [export()], [("cw-jan", "attention")], errors=True, words="cannot list"),
    "pinned to its task: adopt": Case(
        [export(import_id="t1")], [("cw-jan", "adopt")], tasks=[task("t1")]),
    "pinned to a task of another range: attention": Case(
        [export(import_id="t1")], [("cw-jan", "attention")], tasks=[task("t1", window=FEB)],
        words="not what"),
    "pinned to no task: attention": Case(
        [export(import_id="t1")], [("cw-jan", "attention")], words="names no"),
    "a record no manifest names: forget (the copy stays)": Case(
        [], [("cw-old", "forget")], records=[record("cw-old", import_id="t1")], tasks=[task("t1")]),
    "a record of a file this run does not cover is left alone, never forgotten": Case(
        [], [], records=[record("cw-old", import_id="t1")], tasks=[task("t1")],
        in_scope=False),
    "an import running in the store (AWS's view, not in this plan): wait": Case(
        [export()], [("cw-jan", "queued")], busy=frozenset({STORE}), words="partial set"),
    "an import into the store that needs attention may still bring events: wait": Case(
        [export()], [("cw-jan", "queued")],
        imports=[import_action("jan-10", ActionKind.ATTENTION, "2026-01-10T00:00:00Z",
                               "2026-01-10T23:59:59Z")]),
    "the last look: a record another desired export owns is no orphan to rename from": Case(
        [export("cw-jan-fill", allow_overlap=True)], [("cw-jan-fill", "create")],
        records=[record("cw-jan", import_id="t1")], tasks=[task("t1", "FAILED", bytes_imported=0)],
        named=frozenset({"cw-jan", "cw-jan-fill"}), targets=frozenset({"cw-jan-fill"})),
    "an intent for a range since edited: attention, not a create for the new one": Case(
        [export(window=FEB)], [("cw-jan", "attention")], records=[record(intent_at=INTENT_OLD)],
        words="range changed"),
    "--target plans only that export and forgets nothing": Case(
        [export(), export("cw-feb", FEB, index=1)], [("cw-feb", "create")],
        records=[record("cw-old", import_id="t1")], targets=frozenset({"cw-feb"})),
}  # fmt: skip

FAILED_T1 = task("t1", "FAILED", bytes_imported=4_500)
MINE = [record(import_id="t1")]
REPLACE = frozenset({"cw-jan"})
CASES.update({
    "FAILED and the gaps not countable: the plan says --replace is the way": Case(
        [export()], [("cw-jan", "attention")], tasks=[FAILED_T1], records=MINE,
        log_days={"cw-jan": None}, words="reconcile apply m.yaml --replace cw-jan"),
    "pinned and FAILED, not countable: the hint says the pin goes first": Case(
        [export(import_id="t1")], [("cw-jan", "attention")], tasks=[FAILED_T1], records=MINE,
        log_days={"cw-jan": None}, words="--replace cw-jan once the entry's import_id is removed"),
    "--replace of a FAILED export: replace, saying how many events the log group holds": Case(
        [export()], [("cw-jan", "replace")], tasks=[FAILED_T1], records=MINE, replace=REPLACE,
        log_days={"cw-jan": {"2026-01-02": 40, "2026-01-03": 2}}, words="42 event(s)"),
    "--replace, not countable: estimated from the bytes the old task copied": Case(
        [export()], [("cw-jan", "replace")], tasks=[FAILED_T1], records=MINE, replace=REPLACE,
        log_days={"cw-jan": None}, words="about 3 event(s)"),
    "--replace, not countable and no bytes reported: says it is unknown": Case(
        [export()], [("cw-jan", "replace")], tasks=[task("t1", "FAILED", bytes_imported=None)],
        records=MINE, replace=REPLACE, words="unknown number"),
    "--replace of a CANCELLED export": Case(
        [export()], [("cw-jan", "replace")], tasks=[task("t1", "CANCELLED")], records=MINE,
        replace=REPLACE),
    "--replace of a COMPLETED export does nothing (it would copy everything twice)": Case(
        [export()], [("cw-jan", "noop")], tasks=[task("t1")], records=MINE, replace=REPLACE),
    "--replace of a running export does nothing": Case(
        [export()], [("cw-jan", "running")], tasks=[task("t1", "IN_PROGRESS")], records=MINE,
        replace=REPLACE),
    "a task no longer listed: attention naming --replace": Case(
        [export()], [("cw-jan", "attention")], records=MINE, words="--replace cw-jan"),
    "--replace of a task no longer listed": Case(
        [export()], [("cw-jan", "replace")], records=MINE, replace=REPLACE,
        words="no longer listed"),
    "--replace, but the range was exported again by hand: adopt that task, never twice": Case(
        [export()], [("cw-jan", "adopt")], tasks=[FAILED_T1, task("t2", "IN_PROGRESS")],
        records=MINE, replace=REPLACE, words="t2"),
    "--replace over a range meeting another task of the store: attention": Case(
        [export()], [("cw-jan", "attention")],
        tasks=[FAILED_T1, task("t2", window=(JAN[1], FEB[1]))], records=MINE, replace=REPLACE,
        words="t2"),
    "--replace waits for AWS's 3 active tasks per account": Case(
        [export()], [("cw-jan", "queued")],
        tasks=[FAILED_T1, *(task(f"x{i}", "IN_PROGRESS", source=OTHER_STORE) for i in range(3))],
        records=MINE, replace=REPLACE),
    "--replace waits for imports into the store": Case(
        [export()], [("cw-jan", "queued")], tasks=[FAILED_T1], records=MINE, replace=REPLACE,
        imports=[import_action("jan-10", ActionKind.RUNNING, "2026-01-10T00:00:00Z",
                               "2026-01-10T23:59:59Z")]),
    "a replacement's unanswered intent: pending, the replaced task is not its answer": Case(
        [export()], [("cw-jan", "pending")],
        tasks=[task("t1", "FAILED", created=INTENT_YOUNG + timedelta(seconds=1))],
        records=[record(intent_at=INTENT_YOUNG, replaced=("t1",))]),
    "a replacement's lost answer: the new task (same range, created since) is adopted": Case(
        [export()], [("cw-jan", "adopt")],
        tasks=[FAILED_T1, task("t2", "IN_PROGRESS", created=INTENT_YOUNG)],
        records=[record(intent_at=INTENT_YOUNG, replaced=("t1",))], words="t2"),
    "a replacement's intent that never reached AWS: create, the replaced task excused": Case(
        [export()], [("cw-jan", "create")], tasks=[FAILED_T1],
        records=[record(intent_at=INTENT_OLD, replaced=("t1",))]),
    "a replaced task is never adopted by a new entry of the same range either": Case(
        [export("cw-jan-again", allow_overlap=True, index=1)], [("cw-jan-again", "create")],
        tasks=[FAILED_T1, task("t2")],
        records=[record(import_id="t2", replaced=("t1",))],
        named=frozenset({"cw-jan", "cw-jan-again"}), targets=frozenset({"cw-jan-again"})),
})  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_export_plan(case: Case) -> None:
    observed = ExportObservation(
        tasks={t.import_id: t for t in case.tasks},
        places=frozenset() if case.errors else frozenset({PLACE}),
        errors={PLACE: "AccessDenied"} if case.errors else {},
        busy_stores=case.busy,
        log_days=case.log_days,
    )
    actions = plan_exports(
        ExportPlanInput(
            exports=case.exports,
            records={r.name: r for r in case.records},
            observed=observed,
            import_actions=case.imports,
            now=NOW,
            targets=case.targets,
            covers=lambda account, manifest_file: case.in_scope,
            named=case.named,
            replace=case.replace,
            paths=("m.yaml",),
        )
    )
    assert [(a.name, a.action.value) for a in actions] == case.expected
    assert all(a.kind == "export" for a in actions)
    if case.words:
        assert case.words in actions[0].reason, actions[0].reason


def test_a_failed_task_shows_its_failed_batches_and_the_export_identity() -> None:
    batches = (ObservedBatch("b1", "COMPLETED"), ObservedBatch("b2", "FAILED", "KMS denied"))
    given = ExportPlanInput(
        exports=[export()],
        records={"cw-jan": record(import_id="t1")},
        observed=ExportObservation(
            {"t1": task("t1", "FAILED", batches=batches)}, frozenset({PLACE})
        ),
        import_actions=[],
        now=NOW,
    )
    (action,) = plan_exports(given)
    assert [(f.location, f.error_message) for f in action.failures] == [("b2", "KMS denied")]
    assert action.identity.source_uri == STORE
    assert action.identity.end == "2026-01-31T23:59:59.999Z"
    assert (
        action.destination
        == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws/cloudtrail/{STORE_ID}"
    )


# The role AWS documents for CreateImportTask, as a team would write it.
GOOD_ROLE_POLICY = [
    {"Effect": "Allow", "Action": "cloudtrail:GetEventDataStoreData", "Resource": STORE},
    {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream"],
     "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws/cloudtrail/{STORE_ID}:*"},
    {"Effect": "Allow", "Action": "logs:PutResourcePolicy", "Resource": "*"},
]  # fmt: skip


def store_facts(**changes: Any) -> Any:
    from reconciler.ports import StoreFacts

    values: dict[str, Any] = dict(
        arn=STORE, status="ENABLED", holds_trail_events=True, retention_days=3653,
        created=datetime(2022, 1, 1, tzinfo=UTC), organization=False, kms_key_id=None,
        billing_mode="EXTENDABLE_RETENTION_PRICING",
    )  # fmt: skip
    values.update(changes)
    return StoreFacts(**values)


@pytest.mark.parametrize(
    ("spec", "store", "role", "codes", "policies"),
    [
        (export(), store_facts(), True, [], None),
        (export(window=(datetime(2022, 12, 31, tzinfo=UTC), JAN[1])), store_facts(), True,
         ["export-before-2023"], None),
        (export(), store_facts(retention_days=90), True, ["export-outside-retention"], None),
        (export(), store_facts(status="PENDING_DELETION"), True, ["export-store-not-ready"], None),
        (export(), store_facts(status="STOPPED_INGESTION", kms_key_id="k1"), True,
         ["store-kms-key"], None),
        (export(), "missing", True, ["store-not-found"], None),
        (export(), store_facts(), False, ["role-not-trusted"], None),
        (export(), store_facts(), "missing", ["role-not-found"], None),
        (export(), "denied", "denied", ["preflight-access-denied"] * 2, None),
        (export(), store_facts(), True, ["export-role-permissions"], []),
        (export(), store_facts(), True, ["export-role-permissions"],
         [{"Effect": "Allow", "Action": "cloudtrail:GetEventDataStoreData", "Resource": STORE}]),
        (export(), store_facts(), True, [], [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        (export(), store_facts(), True, ["export-role-permissions"],
         [{"Effect": "Allow", "Action": "*", "Resource": "*"},
          {"Effect": "Deny", "Action": "logs:PutResourcePolicy", "Resource": "*"}]),
        (export(), store_facts(), True, [], GOOD_ROLE_POLICY),
        (export(), store_facts(), True, ["preflight-access-denied"], "denied"),
    ],
)  # fmt: skip
def test_export_preflight(
    spec: ExportSpec, store: Any, role: Any, codes: list[str], policies: Any
) -> None:
    from reconciler.ports import NotFound, RoleFacts, RolePolicies, Unreadable
    from reconciler.preflight.export_checks import export_findings

    def answer(value: Any, facts: Any) -> Any:
        if value == "missing":
            return NotFound("no such thing")
        if value == "denied":
            return Unreadable("refused", permission="iam:GetRole")
        return facts

    role_answer = answer(role, RoleFacts(ROLE, trusts_cloudtrail=role is True))
    read = None
    if policies is not None:
        statements = policies if isinstance(policies, list) else []
        read = answer(policies, RolePolicies(("inline p",), ({"Statement": statements},)))
    found = export_findings(spec, answer(store, store), role_answer, NOW, read)
    assert [f.code for f in found] == codes


def test_an_error_finding_stops_the_create_and_says_what_to_fix() -> None:
    from reconciler.findings import Finding, Severity

    before_2023 = Finding("export-before-2023", Severity.ERROR, "too old", "Start at 2023.")
    given = ExportPlanInput(
        exports=[export(), export("cw-feb", FEB, index=1)],
        records={},
        observed=ExportObservation({}, frozenset({PLACE})),
        import_actions=[],
        now=NOW,
        findings={"cw-jan": (before_2023,)},
    )
    jan, feb = plan_exports(given)
    assert (jan.action, feb.action) == (ActionKind.ATTENTION, ActionKind.CREATE)
    assert "export-before-2023" in jan.reason and "see the fix" in jan.reason
    assert jan.findings == (before_2023,)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ({"2026-01-01": 5, "2026-01-02": 0, "2026-01-03": 7}, [("01-02", "01-02")]),
        ({"2026-01-01": 5}, [("01-02", "01-03")]),  # adjacent missing days merge
        ({"2026-01-01": 1, "2026-01-02": 1, "2026-01-03": 1}, []),
    ],
)
def test_missing_ranges_are_whole_days_cut_to_the_range(
    days: dict[str, int], expected: list[tuple[str, str]]
) -> None:
    from reconciler.plan.export_gaps import missing_ranges

    identity = ExportIdentity(STORE, datetime(2026, 1, 1, 6, tzinfo=UTC),
                              datetime(2026, 1, 3, 18, tzinfo=UTC))  # fmt: skip
    found = missing_ranges(identity, days)
    assert [(s.strftime("%m-%d"), e.strftime("%m-%d")) for s, e in found] == expected
    if found and expected[-1][1] == "01-03":
        assert found[-1][1] == identity.end  # cut to the range's own end


FAILED_JAN = task("t1", "FAILED", bytes_imported=500)
FILL = export("cw-jan-fill", (datetime(2026, 1, 6, tzinfo=UTC),
                              datetime(2026, 1, 6, 23, 59, 59, 999000, tzinfo=UTC)),
              fills="cw-jan", index=1)  # fmt: skip


@pytest.mark.parametrize(
    ("filled", "days", "expected", "words"),
    [
        (FAILED_JAN, {}, "create", ""),  # nothing there: past the failed task's overlap
        (FAILED_JAN, {"2026-01-06": 3}, "attention", "already holds 3"),
        (FAILED_JAN, None, "attention", "could not be counted"),
        (task("t1", "IN_PROGRESS"), {}, "queued", "still copying"),
        (task("t1", "COMPLETED"), {}, "attention", "nothing to fill"),
    ],
)  # fmt: skip
def test_a_fill_starts_only_over_an_empty_range_of_a_failed_export(
    filled: ObservedExport, days: dict[str, int] | None, expected: str, words: str
) -> None:
    given = ExportPlanInput(
        exports=[export(), FILL],
        records={"cw-jan": record(import_id="t1")},
        observed=ExportObservation(
            {"t1": filled}, frozenset({PLACE}), log_days={"cw-jan-fill": days}
        ),
        import_actions=[],
        now=NOW,
    )
    action = {a.name: a for a in plan_exports(given)}["cw-jan-fill"]
    assert action.action.value == expected, action.reason
    assert words in action.reason


def test_the_estimate_shares_each_imports_events_by_the_range_it_covers() -> None:
    from reconciler.preflight.export_estimate import FilledBy, export_estimate

    day = timedelta(days=1) - timedelta(seconds=1)
    imports = [
        FilledBy(STORE, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC) + day,
                 1000),
        FilledBy(STORE, datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC) + day,
                 2000),  # two days: the export covers one
        FilledBy(OTHER_STORE, None, None, 99_999),  # another store: not counted
    ]  # fmt: skip
    covering = export(window=(datetime(2026, 1, 1, tzinfo=UTC),
                              datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC)))  # fmt: skip
    found = export_estimate(covering, imports)
    assert found is not None and found.code == "export-estimate"
    assert "about 2,000 events" in found.message and "$0.25/GB" in found.message
    assert export_estimate(export(source=OTHER_STORE.replace("9f", "8f")), imports) is None


def test_a_rename_keeps_an_unanswered_intent(tmp_path: Any) -> None:
    """The old name's record moves whole: a lost answer stays to be settled by proof."""
    import threading

    from reconciler.apply.exports import ExportApplier
    from reconciler.apply.types import SilentEvents
    from reconciler.state.document import ExportRecordState
    from reconciler.state.keeper import StateKeeper
    from reconciler.state.local import LocalStateStore

    store = LocalStateStore(tmp_path / "state.json")
    intent = ExportRecordState("cw-jan", "m.yaml", ExportIdentity(STORE, *JAN), ROLE,
                               intent_at=INTENT_YOUNG)  # fmt: skip
    renamed = export("cw-january")
    with store.lock("test"):
        keeper = StateKeeper(store, store.write(store.read().with_exports({"cw-jan": intent})))
        (action,) = [a for a in plan_exports(ExportPlanInput(
            exports=[renamed], records={"cw-jan": record(intent_at=INTENT_YOUNG)},
            observed=ExportObservation({}, frozenset({PLACE})), import_actions=[], now=NOW,
        )) if a.name == "cw-january"]  # fmt: skip
        assert action.action is ActionKind.RENAME
        applier = ExportApplier([renamed], keeper, Any, SilentEvents(), threading.Event(),  # type: ignore[arg-type]
                                ExportObservation(), [])  # fmt: skip
        applier.run([action])
    moved = store.read().exports
    assert list(moved) == ["cw-january"] and moved["cw-january"].intent_at == INTENT_YOUNG


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "ThrottlingException", "refused"),
        (400, "InvalidOperationException", "refused"),  # e.g. the 3-active quota
        (403, "Forbidden", "unknown"),  # a proxy's answer, not the service's: may have started
        (502, "BadGateway", "unknown"),
    ],
)
def test_only_the_services_own_refusals_clear_an_intent(
    status: int, code: str, expected: str
) -> None:
    import boto3
    from botocore.stub import Stubber

    from reconciler.aws.logs_tasks import ExportTaskWriter

    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="a",
                          aws_secret_access_key="b", endpoint_url="http://127.0.0.1:9")  # fmt: skip
    stubber = Stubber(client)
    stubber.add_client_error("create_import_task", service_error_code=code,
                             http_status_code=status)  # fmt: skip
    factory: Any = type("F", (), {"client": lambda self, *a, **k: client})()
    with stubber:
        outcome = ExportTaskWriter(factory).create_task("us-east-1", STORE, ROLE, *JAN)
    assert outcome.kind.value == expected
