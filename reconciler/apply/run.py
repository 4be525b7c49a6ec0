"""`reconcile apply` as one core function: lock, plan (or a saved plan), confirm, apply.

The CLI supplies how to show the plan, how to ask, and how to draw progress; everything that
decides lives here and in `runner.py`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from reconciler import defaults
from reconciler.apply.exports import ExportApplier, ExportStep
from reconciler.apply.runner import Applier
from reconciler.apply.types import ApplyEvents, ApplyOptions, ApplyResult, SilentEvents
from reconciler.errors import ReconcileError
from reconciler.gcpause import frozen_survivors
from reconciler.observed import Observed
from reconciler.outcomes import ApplyOutcome
from reconciler.plan.desired import (
    Desired,
    PlanOptions,
    Scope,
)
from reconciler.plan.drift import manifest_changes
from reconciler.plan.exports import ExportObservation
from reconciler.plan.make import PlanRequest, plan_and_observed, without_exports
from reconciler.plan.observe import foreign_finished, observe, reachable
from reconciler.plan.preflighted import startable
from reconciler.plan.saved import SavedPlan, read_plan_file
from reconciler.plan.types import SHOWN_STARTING, Action, ActionKind, Plan
from reconciler.ports import Connector
from reconciler.state.document import StateDocument
from reconciler.state.keeper import StateKeeper
from reconciler.state.store import StateStore


class ApplyCancelled(ReconcileError):
    """The person answered no (or the plan was refused): nothing was changed."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to plan (the same request `reconcile plan` takes), or the saved plan to apply."""

    plan: PlanRequest
    plan_file: str | None = None
    lock_timeout: float = defaults.LOCK_TIMEOUT_SECONDS
    command: str = "reconcile apply"
    refuse_if_changed: bool = False  # with plan_file: refuse when the manifests changed since


def _saved_plan(
    request: ApplyRequest,
    state: StateDocument,
    connector: Connector,
    notice: Callable[[str], None],
) -> tuple[SavedPlan, Observed]:
    if request.plan_file is None:  # exports too: apply runs them (never from a saved plan)
        return plan_and_observed(replace(request.plan, exports=True), state, connector)
    saved = read_plan_file(request.plan_file)
    connector.use_accounts(saved.accounts)
    desired = Desired(
        specs=saved.specs,
        scope=Scope(saved.scope or ("",), saved.shard),
        accounts=saved.accounts,
    )
    observed = reachable(observe(connector.reader, desired, state))
    changes = manifest_changes(saved)
    if changes and request.refuse_if_changed:
        raise ReconcileError(
            f"the manifests changed since the plan {request.plan_file} was made "
            f"({'; '.join(changes)}); --refuse-if-changed refuses it. Nothing was applied; make "
            "a new plan (reconcile plan --out FILE) and review it."
        )
    if changes:
        notice(
            f"Note: the manifests changed since this plan was made: {'; '.join(changes)}. "
            "Applying the plan as it was saved and reviewed (as terraform does); "
            "--refuse-if-changed refuses instead."
        )
    reasons = stale_reasons(saved, state, observed.imports)
    if reasons:
        raise ReconcileError(
            f"the saved plan {request.plan_file} is stale: {'; '.join(reasons)}. Nothing was "
            "applied; make a new plan (reconcile plan --out FILE) and review it."
        )
    return saved, observed


def worth_applying(plan: Plan, wait: bool) -> bool:
    """Anything to do: a change, or (with --wait) an import to wait for."""
    return plan.has_changes or (wait and bool(plan.of_kind(ActionKind.RUNNING)))


def run_apply(
    request: ApplyRequest,
    store: StateStore,
    connector: Connector,
    options: ApplyOptions,
    *,
    show: Callable[[Plan], None],
    confirm: Callable[[Plan], bool],
    events: ApplyEvents,
    stop: threading.Event,
) -> ApplyResult:
    with store.lock(request.command, request.lock_timeout):
        state = store.read()
        saved, observed = _saved_plan(
            request, state, connector, lambda text: events.message(None, text)
        )
        show(saved.plan)
        if not worth_applying(saved.plan, options.wait):
            # Nothing to change, but what was observed is recorded (no confirmation needed:
            # it only writes down facts), so state does not keep a stale INITIALIZING.
            keeper = StateKeeper(store, state)
            keeper.remember_foreign(foreign_finished(observed, state))
            quiet = Applier(without_exports(saved), keeper, connector, options, None, stop)
            quiet.record_only()
            _exporter(saved, keeper, connector, SilentEvents(), stop, options).record_only(
                saved.plan.actions
            )
            return ApplyResult(
                plan=saved.plan,
                errors=[],
                attention={a.name for a in saved.plan.of_kind(ActionKind.ATTENTION)},
            )
        if not confirm(saved.plan):
            raise ApplyCancelled("apply cancelled; nothing was changed.")
        options = replace(
            options,
            plan_options=PlanOptions(
                targets=frozenset(saved.targets),
                replace=frozenset(saved.replace),
                retry_backoff=request.plan.retry_backoff,
                grace=request.plan.grace,
                retry=frozenset(saved.retry),
                queue_scope=saved.queue_scope,
                startable=frozenset(
                    a.name for a in saved.plan.of_kind(*SHOWN_STARTING) if startable(a)
                ),
            ),
        )
        keeper = StateKeeper(store, state)
        keeper.remember_foreign(foreign_finished(observed, state))
        with frozen_survivors():  # the steps below re-plan over them again and again
            applier = Applier(without_exports(saved), keeper, connector, options, events, stop)
            result = applier.run()
            if any(action.kind == "export" for action in saved.plan.actions):

                def replan(document: StateDocument) -> SavedPlan:
                    again = replace(request.plan, exports=True)
                    return plan_and_observed(again, document, connector)[0]

                result = _run_exports(
                    saved, result, keeper, connector, events, stop, options, replan
                )
        return result


def _run_exports(
    saved: SavedPlan,
    result: ApplyResult,
    keeper: StateKeeper,
    connector: Connector,
    events: ApplyEvents,
    stop: threading.Event,
    options: ApplyOptions,
    replan: Callable[[StateDocument], SavedPlan] | None = None,
) -> ApplyResult:
    """The exports' step, after the imports' (the plan made them wait for those): their
    outcomes join the result as the imports' do. With --wait, the exports it started are
    followed to their end, and then the exports are planned again (level-triggered, as the
    imports' queues are): one the plan showed as starting (create, replace, queued, pending)
    that may start now starts, until none is left that may."""
    shown = [action for action in saved.plan.actions if action.kind == "export"]
    exporter = _exporter(saved, keeper, connector, events, stop, options, result.plan.actions)
    steps = exporter.run(shown)
    if options.wait and not stop.is_set():
        may_start = {
            a.name
            for a in shown
            if a.action in (ActionKind.CREATE, ActionKind.REPLACE, *_WAITING_TO_START)
        }
        followed = [
            a.name
            for a in shown
            if (a.name in steps and steps[a.name].kind in _FOLLOWED)
            or a.action is ActionKind.RUNNING
        ]
        deadline = time.monotonic() + options.wait_timeout if options.wait_timeout else None
        while True:
            ended = exporter.follow(followed, options.poll_interval, deadline)
            if set(followed) - set(ended) and not stop.is_set():
                result = replace(result, timed_out=True)  # exit 4: the rest still runs
            for name, status in ended.items():
                before = steps.get(name)
                text = f"{before.outcome}; ended {status}" if before else f"ended {status}"
                kind = before.kind if before else ApplyOutcome.RECORDED
                steps[name] = ExportStep(
                    text, ApplyOutcome.ATTENTION if status != "COMPLETED" else kind
                )
            if replan is None or stop.is_set() or result.timed_out:
                break
            fresh = replan(keeper.document)
            followed = _start_what_may_now(exporter, fresh, may_start, steps)
            if followed:
                continue
            if not _waiting_for_a_slot(fresh, may_start - exporter.sent):
                break
            if deadline is not None and time.monotonic() >= deadline:
                result = replace(result, timed_out=True)  # exit 4: still queued
                break
            stop.wait(options.poll_interval)  # tasks nobody here follows hold the slots
    done = [
        replace(a, outcome=steps[a.name].outcome if a.name in steps else "nothing to do")
        for a in shown
    ]
    kinds = {**result.kinds, **{name: step.kind for name, step in steps.items()}}
    errors = [*result.errors, *(f"{n}: {s.outcome}" for n, s in steps.items()
                                if s.kind is ApplyOutcome.FAILED)]  # fmt: skip
    attention = result.attention | {a.name for a in shown if a.action is ActionKind.ATTENTION}
    # and a task that ended FAILED or CANCELLED while --wait followed it needs a person too
    attention |= {name for name, step in steps.items() if step.kind is ApplyOutcome.ATTENTION}
    plan = replace(result.plan, actions=(*result.plan.actions, *done))
    return replace(result, plan=plan, kinds=kinds, errors=errors, attention=attention)


def _exporter(
    saved: SavedPlan,
    keeper: StateKeeper,
    connector: Connector,
    events: ApplyEvents,
    stop: threading.Event,
    options: ApplyOptions,
    import_actions: Sequence[Action] = (),
) -> ExportApplier:
    scope = Scope(saved.scope or ("",), saved.shard)
    return ExportApplier(
        saved.export_specs,
        keeper,
        connector,
        events,
        stop,
        saved.export_observation or ExportObservation(),
        import_actions,
        stop_removed=options.stop_removed,
        covers=lambda account, manifest: scope.owns(account) and scope.covers(manifest),
        grace=options.plan_options.grace,
        replace=frozenset(saved.replace),
    )


# With --wait: a task this run started or adopted is followed to its end (an adopted one may
# still be copying: as for imports, --wait waits for it).
_FOLLOWED = (ApplyOutcome.STARTED, ApplyOutcome.ADOPTED)
# Shown as waiting: with --wait they may start in this run once what held them is done.
_WAITING_TO_START = (ActionKind.QUEUED, ActionKind.PENDING)


def _start_what_may_now(
    exporter: ExportApplier,
    fresh: SavedPlan,
    may_start: set[str],
    steps: dict[str, ExportStep],
) -> list[str]:
    """The exports planned again from a fresh look: those shown as starting that may start
    now and have not started in this run, started; the names that did."""
    ready = [
        a
        for a in fresh.plan.actions
        if a.kind == "export"
        and a.action in (ActionKind.CREATE, ActionKind.REPLACE)
        and a.name in may_start
        and a.name not in exporter.sent  # one CreateImportTask per export and run, at most
    ]
    if not ready:
        return []
    exporter.observed = fresh.export_observation or ExportObservation()
    exporter.import_actions = [a for a in fresh.plan.actions if a.kind == "import"]
    started = exporter.run(ready)
    steps.update(started)
    return [name for name, step in started.items() if step.kind is ApplyOutcome.STARTED]


def _waiting_for_a_slot(fresh: SavedPlan, names: set[str]) -> bool:
    """Whether an export that may start in this run is queued only behind AWS's 3 active
    tasks of its account (tasks that will end): --wait keeps waiting for it then."""
    return any(
        a.kind == "export"
        and a.action is ActionKind.QUEUED
        and a.queue_position is not None
        and a.name in names
        for a in fresh.plan.actions
    )


def stale_reasons(saved: SavedPlan, state: StateDocument, observed_ids: Iterable[str]) -> list[str]:
    """Why a saved plan may no longer be applied (DESIGN.md: lineage, serial, ImportIds)."""
    basis = saved.plan.basis
    reasons = []
    if not basis.state_lineage and state.lineage:
        reasons.append(f"a state was written since the plan (serial {state.serial})")
    elif (basis.state_lineage or "") != (state.lineage or ""):
        reasons.append("the state is another lineage than the plan was made from")
    elif basis.state_serial != state.serial:
        reasons.append(
            f"the state changed since the plan (serial {basis.state_serial} -> {state.serial})"
        )
    before, now = set(basis.observed_import_ids), set(observed_ids)
    if before != now:
        appeared, vanished = sorted(now - before), sorted(before - now)
        parts = []
        if appeared:
            parts.append(f"{len(appeared)} import(s) appeared ({', '.join(appeared[:3])})")
        if vanished:
            parts.append(f"{len(vanished)} vanished ({', '.join(vanished[:3])})")
        reasons.append("imports in AWS changed since the plan: " + "; ".join(parts))
    return reasons
