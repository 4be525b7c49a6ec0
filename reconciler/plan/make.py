"""`reconcile plan` as one core function: load, read state, observe, diff.

Plan never writes state and takes no lock (DESIGN.md, "State"); it reads AWS only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.errors import ManifestError, UsageError
from reconciler.fields import arn_parts
from reconciler.gcpause import gc_paused
from reconciler.manifest.load import LoadResult, load_manifests
from reconciler.observed import Observed
from reconciler.plan.desired import (
    DEFAULT_GRACE,
    DEFAULT_QUEUE_SCOPE,
    DEFAULT_RETRY_BACKOFF,
    Desired,
    PlanOptions,
    Scope,
    Shard,
)
from reconciler.plan.exports import ExportObservation, ExportPlanInput
from reconciler.plan.observe import observe, reachable
from reconciler.plan.planner import plan
from reconciler.plan.preflighted import PREFLIGHTED, Preflight
from reconciler.plan.saved import SavedPlan
from reconciler.plan.types import Action, ActionKind, ManifestHash, Plan
from reconciler.ports import Connector
from reconciler.preflight.export_estimate import FilledBy
from reconciler.preflight.gather import Candidate, Settings, gather
from reconciler.spec import ImportSpec
from reconciler.state.document import StateDocument


@dataclass(frozen=True)
class PlanRequest:
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF
    grace: timedelta = DEFAULT_GRACE
    shard: Shard | None = None
    retry: tuple[str, ...] = ()
    queue_scope: str = DEFAULT_QUEUE_SCOPE
    preflight: bool = True  # --no-preflight: False
    price_per_gb: float | None = None  # --price-per-gb; an entry's preflight.price_per_gb wins
    max_cost: float | None = None  # --max-cost / RECONCILE_MAX_COST, USD for the whole run
    # Plan the manifests' exports too (plan and apply set it; a saved plan holds only imports).
    exports: bool = False

    def options(self) -> PlanOptions:
        return PlanOptions(
            targets=frozenset(self.targets),
            replace=frozenset(self.replace),
            retry_backoff=self.retry_backoff,
            grace=self.grace,
            retry=frozenset(self.retry),
            queue_scope=self.queue_scope,
        )


def load_desired(
    paths: Sequence[str], shard: Shard | None = None, started: frozenset[str] | None = None
) -> tuple[Desired, LoadResult]:
    """Manifests in PATHS as the planner's input; any manifest problem stops here.

    With a shard, only the entries of its accounts are desired, and only its accounts'
    records are in scope (the other shards' runs own the rest).
    """
    loaded = load_manifests(paths, started)
    if loaded.problems:
        raise ManifestError(list(loaded.problems))
    scope = Scope(tuple(paths), shard)
    desired = Desired(
        specs=tuple(spec for spec in loaded.imports if scope.owns(spec.account)),
        scope=scope,
        manifests=tuple(ManifestHash(f.path, f.sha256) for f in loaded.files),
        accounts=dict(loaded.accounts),
        exports=tuple(spec for spec in loaded.exports if scope.owns(spec.account)),
    )
    return desired, loaded


def saved_plan_exports_notice(count: int) -> str:
    return (
        f"Note: the saved plan holds only the imports; its {count} export(s) to CloudWatch run "
        "with `reconcile apply` without --plan (each is planned again right before it starts)."
    )


def started_names(state: StateDocument) -> frozenset[str]:
    """Entries whose import has started (or may have): their range is their identity now."""
    return frozenset(
        name for name, record in state.imports.items() if record.import_id or record.intent
    )


def _check_names(desired: Desired, request: PlanRequest) -> None:
    known = {spec.name for spec in desired.specs}
    known_targets = known | {spec.name for spec in desired.exports}
    named = (
        ("--target", request.targets),
        ("--replace", request.replace),
        ("--retry", request.retry),
    )
    for option, names in named:
        # --target and --replace name exports too; --retry only imports (AWS cannot retry a task)
        unknown = sorted(set(names) - (known if option == "--retry" else known_targets))
        exports = sorted(set(unknown) & {spec.name for spec in desired.exports})
        if exports:
            raise UsageError(
                f"--retry {', '.join(exports)}: an export's task cannot be retried (AWS has no "
                "retry for CloudWatch Logs import tasks); export the missing days with `fills:` "
                "entries as the plan proposes, or re-export the whole range with --replace NAME."
            )
        if unknown:
            raise UsageError(
                f"{option} {', '.join(unknown)}: no manifest entry in "
                f"{', '.join(desired.scope.paths)} has that name."
            )


def _preflighted(
    first: Plan,
    desired: Desired,
    state: StateDocument,
    observed: Observed,
    now: datetime,
    request: PlanRequest,
    options: PlanOptions,
    connector: Connector,
) -> Plan:
    """The plan again, with what preflight found for the imports it would start. Nothing to
    start: no call, and the plan as it was."""
    specs = {spec.name: spec for spec in desired.specs}
    wanted = [
        candidate_of(action, specs[action.name])
        for action in first.actions
        if action.action in PREFLIGHTED and action.name in specs
    ]
    if not wanted:
        return first
    evidence = gather(wanted, connector, Settings(request.price_per_gb), now)
    return plan(desired, state, observed, now, options, Preflight(evidence, request.max_cost))


def _filled_by(state: StateDocument, seen: Observed) -> list[FilledBy]:
    """Imports with an events count, from state (COMPLETED ones keep theirs) and from AWS."""
    found: dict[str, FilledBy] = {}
    for record in state.imports.values():
        events = (record.statistics or {}).get("EventsCompleted")
        if record.import_id and events:
            identity = record.identity
            found[record.import_id] = FilledBy(
                identity.destination, identity.start, identity.end, events
            )
    for observed in seen.imports.values():
        events = (observed.statistics or {}).get("EventsCompleted")
        if observed.identity is not None and events and observed.import_id not in found:
            identity = observed.identity
            found[observed.import_id] = FilledBy(
                identity.destination, identity.start, identity.end, events
            )
    return list(found.values())


def _with_exports(
    imports: Plan,
    desired: Desired,
    state: StateDocument,
    connector: Connector,
    now: datetime,
    request: PlanRequest,
    imports_seen: Observed,
) -> tuple[Plan, ExportObservation]:
    """The plan with the exports' actions after the imports' (they wait for those)."""
    from dataclasses import replace

    from reconciler.plan.exports import ExportPlanInput, export_records, plan_exports
    from reconciler.plan.observe_exports import observe_exports

    recorded = {arn_parts(r.identity.source) for r in state.exports.values()}
    observed = observe_exports(connector.exports, desired.exports, also=recorded)
    busy = frozenset(
        seen.destination
        for seen in imports_seen.imports.values()
        if seen.ongoing and seen.destination
    )
    observed = replace(observed, busy_stores=busy)
    scope = desired.scope
    given = ExportPlanInput(
        exports=desired.exports,
        records=export_records(state.exports),
        observed=observed,
        import_actions=imports.actions,
        now=now,
        grace=request.grace,
        targets=frozenset(request.targets),
        covers=lambda account, manifest: scope.owns(account) and scope.covers(manifest),
        replace=frozenset(request.replace),
        paths=tuple(scope.paths),
    )
    actions = plan_exports(given)
    log_days, count_errors = _log_days(desired, given, connector)
    if log_days:
        observed = replace(observed, log_days=log_days, count_errors=count_errors)
        given = replace(given, observed=observed)
        actions = plan_exports(given)
    starting = {
        a.name
        for a in actions
        if a.action in (ActionKind.CREATE, ActionKind.REPLACE, ActionKind.QUEUED)
    }
    if request.preflight and starting:
        from reconciler.preflight.export_checks import gather_export_findings
        from reconciler.preflight.export_estimate import export_estimate

        specs = [spec for spec in desired.exports if spec.name in starting]
        findings = gather_export_findings(specs, connector.preflight, now)
        filled = _filled_by(state, imports_seen)
        for spec in specs:
            estimated = export_estimate(spec, filled)
            if estimated is not None:
                findings[spec.name] = (*findings.get(spec.name, ()), estimated)
        actions = plan_exports(replace(given, findings=findings))
    return replace(imports, actions=(*imports.actions, *actions)), observed


def _log_days(
    desired: Desired, given: ExportPlanInput, connector: Connector
) -> tuple[dict[str, dict[str, int] | None], dict[str, str]]:
    """Events per day in the log group, for what needs them: a managed export whose task
    FAILED (which days are missing) and a `fills` entry not started yet (is its range empty).
    One Logs Insights query each; one that fails leaves None (the planner then proposes
    nothing that could copy twice). Also for --replace of an export, whose plan says how many
    events it would copy a second time."""
    from reconciler.errors import CloudError
    from reconciler.exportspec import log_group_of

    wanted = []
    for spec in desired.exports:
        record = given.records.get(spec.name)
        task = given.observed.tasks.get(record.import_id or "") if record else None
        if task is not None and task.status == "FAILED":
            wanted.append((spec, task.destination_arn))
        elif record is not None and record.import_id and spec.name in given.replace:
            wanted.append((spec, task.destination_arn if task else None))
        elif spec.fills and (record is None or record.import_id is None):
            filled = given.records.get(spec.fills)
            known = given.observed.tasks.get(filled.import_id or "") if filled else None
            wanted.append((spec, known.destination_arn if known else None))
    found: dict[str, dict[str, int] | None] = {}
    errors: dict[str, str] = {}
    for spec, destination in wanted:
        group = log_group_of(spec.source, destination)
        try:
            found[spec.name] = connector.exports(spec.account).events_per_day(
                spec.region, group, spec.start, spec.end
            )
        except CloudError as exc:
            found[spec.name] = None
            errors[spec.name] = str(exc)
    return found, errors


def without_exports(saved: SavedPlan) -> SavedPlan:
    """The plan apply can run: its imports (apply does not run exports yet)."""
    from dataclasses import replace

    kept = tuple(action for action in saved.plan.actions if action.kind != "export")
    return replace(saved, plan=replace(saved.plan, actions=kept))


def candidate_of(action: Action, spec: ImportSpec) -> Candidate:
    """A retry reprocesses only what its import has not completed (DOMAIN.md, "Sandbox
    choices"); every other start reads the whole range."""
    retrying = action.import_id is not None and action.action is not ActionKind.REPLACE
    progress = action.progress
    if not retrying or progress is None:
        return Candidate(spec)
    failed = tuple(failure.location for failure in action.failures)
    return Candidate(
        spec,
        retrying=True,
        files_completed=progress.files_completed,
        failed_locations=failed,
        failures_complete=progress.failed_entries is not None
        and progress.failed_entries == len(failed),
    )


def make_plan(
    request: PlanRequest,
    state: StateDocument,
    connector: Connector,
    now: datetime | None = None,
) -> SavedPlan:
    return plan_and_observed(request, state, connector, now)[0]


def plan_and_observed(
    request: PlanRequest,
    state: StateDocument,
    connector: Connector,
    now: datetime | None = None,
) -> tuple[SavedPlan, Observed]:
    """The plan, and what it saw (apply keeps the finished foreign imports from it)."""
    with gc_paused():  # bulk phases: everything they build stays alive (see gcpause.py)
        desired, _ = load_desired(request.paths, request.shard, started_names(state))
        _check_names(desired, request)
        connector.use_accounts(desired.accounts)
        observed = reachable(observe(connector.reader, desired, state))
        moment = now or datetime.now(UTC)
        options = request.options()
        result = plan(desired, state, observed, moment, options)
    if request.preflight:
        result = _preflighted(result, desired, state, observed, moment, request, options, connector)
    seen_exports = None
    if request.exports and (desired.exports or state.exports):
        result, seen_exports = _with_exports(
            result, desired, state, connector, moment, request, observed
        )
    saved = SavedPlan(
        plan=result,
        specs=desired.specs,
        targets=request.targets,
        replace=request.replace,
        retry=request.retry,
        queue_scope=request.queue_scope,
        scope=request.paths,
        accounts=desired.accounts,
        shard=request.shard,
        export_specs=desired.exports,
        export_observation=seen_exports,
    )
    return saved, observed
