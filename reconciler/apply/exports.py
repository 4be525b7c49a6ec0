"""Apply the exports' actions of a shown plan: one step per run, with the imports' safety rules.

CreateImportTask has no client token, so (DESIGN.md, "Apply safety", for exports too):
- the intent is written (and fsynced) before the call, the importId right after its answer;
- right before the call, the Region's tasks are listed again and the export planned again
  from that answer: a task with its identity started meanwhile is adopted, not repeated;
- the call is never retried; an answer lost (5xx, timeout) leaves the intent, and the next
  plan settles it by proof (plan/exports.py), never by time alone.
Apply starts what the plan shows as `create` (at most AWS's 3 active tasks per account, as
planned); without --wait, queued exports start in a later run, once what they wait for is
done; with --wait, apply/run.py plans them again after each round and starts them then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from reconciler.apply.types import ApplyEvents
from reconciler.errors import CloudError
from reconciler.exportspec import ExportSpec
from reconciler.faultpoints import crash_point
from reconciler.observed_exports import ObservedExport
from reconciler.outcomes import ApplyOutcome, StartResult
from reconciler.plan.exports import (
    ExportObservation,
    ExportPlanInput,
    export_records,
    plan_exports,
)
from reconciler.plan.types import Action, ActionKind
from reconciler.ports import Connector
from reconciler.state.document import ExportRecordState
from reconciler.state.keeper import StateKeeper


@dataclass(frozen=True)
class ExportStep:
    outcome: str
    kind: ApplyOutcome


class ExportApplier:
    def __init__(
        self,
        specs: Sequence[ExportSpec],
        keeper: StateKeeper,
        connector: Connector,
        events: ApplyEvents,
        stop: threading.Event,
        observed: ExportObservation,
        import_actions: Sequence[Action],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stop_removed: bool = False,
        covers: Callable[[str, str], bool] = lambda account, manifest_file: True,
        grace: timedelta = timedelta(minutes=10),
        replace: frozenset[str] = frozenset(),
    ) -> None:
        self.replace = replace  # --replace: the last look plans these as the plan did
        self.stop_removed = stop_removed
        self.covers = covers
        self.grace = grace
        self.specs = {spec.name: spec for spec in specs}
        self.keeper = keeper
        self.connector = connector
        self.events = events
        self.stop = stop
        self.observed = observed
        self.import_actions = import_actions
        self.clock = clock
        # Exports sent a CreateImportTask in this run (answered or not): never again in it,
        # whatever a later re-plan says (a --replace whose new task fails too must wait for
        # a person, not start a third).
        self.sent: set[str] = set()

    def run(self, actions: Sequence[Action]) -> dict[str, ExportStep]:
        steps: dict[str, ExportStep] = {}
        for action in actions:
            if action.kind != "export" or self.stop.is_set():
                continue
            step = self._one(action)
            if step is not None:
                steps[action.name] = step
                self.events.message(
                    action.name, step.outcome, error=step.kind is ApplyOutcome.FAILED
                )
        return steps

    def follow(
        self, names: Sequence[str], poll_interval: float, deadline: float | None
    ) -> dict[str, str]:
        """--wait: poll the named exports' tasks to their end, saying each batch count as it
        changes (DescribeImportTasks, DescribeImportTaskBatches); the end status per name.
        Stops at the deadline (time.monotonic()) or on Ctrl-C, leaving the rest running."""
        import time

        ended: dict[str, str] = {}
        shown: dict[str, str] = {}
        while not self.stop.is_set():
            waiting = []
            listings: dict[tuple[str, str, str], list[ObservedExport]] = {}  # one per store
            for name in names:
                record = self.keeper.document.exports.get(name)
                spec = self.specs.get(name)
                if record is None or record.import_id is None or spec is None or name in ended:
                    continue
                reader = self.connector.exports(spec.account)
                key = (spec.account, spec.region, spec.source)
                try:
                    if key not in listings:
                        listings[key] = reader.list_tasks(spec.region, source=spec.source)
                    task = next((t for t in listings[key] if t.import_id == record.import_id), None)
                    batches = reader.batches(spec.region, task.import_id) if task else ()
                except CloudError as exc:  # a poll that failed: say so, poll again
                    self.events.message(name, f"could not read its task this time ({exc})")
                    waiting.append(name)
                    continue
                if task is None:  # not listed yet (AWS lists a new task a little later)
                    waiting.append(name)
                    continue
                done = sum(b.status != "IN_PROGRESS" for b in batches)
                line = f"{task.status} {done:,} of {len(batches):,} batches"
                if shown.get(name) != line:
                    shown[name] = line
                    self.events.message(name, line)
                if task.active:
                    waiting.append(name)
                    continue
                ended[name] = task.status
                self._set(replace(record, status=task.status))
            if not waiting or (deadline is not None and time.monotonic() >= deadline):
                return ended
            crash_point("export_waiting")  # a kill while tasks copy: the rerun only follows
            self.stop.wait(poll_interval)
        return ended

    def _set(self, record: ExportRecordState) -> None:
        self.keeper.update_exports(lambda records: records.__setitem__(record.name, record))

    def _record(
        self,
        spec: ExportSpec,
        import_id: str | None = None,
        intent_at: datetime | None = None,
        status: str | None = None,
        replaced: tuple[str, ...] = (),
    ) -> ExportRecordState:
        return ExportRecordState(
            name=spec.name,
            manifest_file=spec.location.file,
            identity=spec.identity,
            role_arn=spec.role_arn,
            import_id=import_id,
            intent_at=intent_at,
            status=status,
            replaced=replaced,
        )

    def _one(self, action: Action) -> ExportStep | None:
        spec = self.specs.get(action.name)
        if action.action is ActionKind.FORGET:
            return self._forget(action)
        if spec is None:
            return None
        if action.action in (ActionKind.ADOPT, ActionKind.RENAME):
            seen = self.observed.tasks.get(action.import_id or "")
            record = self._record(
                spec, import_id=action.import_id, status=seen.status if seen else None
            )

            def adopt(records: dict[str, ExportRecordState]) -> None:
                nonlocal record
                old = records.pop(action.previous_name, None) if action.previous_name else None
                if old is not None:  # a rename keeps everything, an unanswered intent too
                    record = replace(old, name=spec.name, manifest_file=spec.location.file)
                elif spec.name in records:  # the tasks it replaced stay its own
                    earlier = records[spec.name]
                    replaced = earlier.replaced
                    if (
                        spec.name in self.replace
                        and earlier.import_id
                        and earlier.import_id != action.import_id
                    ):  # --replace found the range exported again: adopted in place of it
                        replaced = (*replaced, earlier.import_id)
                    record = replace(record, replaced=replaced)
                records[spec.name] = record

            self.keeper.update_exports(adopt)
            if action.action is ActionKind.RENAME:
                return ExportStep(f"renamed from {action.previous_name}", ApplyOutcome.RENAMED)
            return ExportStep(f"adopted task {action.import_id}", ApplyOutcome.ADOPTED)
        if action.action in (ActionKind.CREATE, ActionKind.REPLACE):
            if spec.name in self.sent:
                return ExportStep(
                    "not created again: this run already sent its CreateImportTask",
                    ApplyOutcome.NOT_STARTED,
                )
            return self._create(spec, action.action)
        self._refresh(action)
        return None

    def record_only(self, actions: Sequence[Action]) -> None:
        """Nothing to change: only write down the statuses AWS reports of known tasks, so
        state does not keep a stale IN_PROGRESS (as imports' record_only does)."""
        for action in actions:
            if action.kind == "export" and action.action is not ActionKind.FORGET:
                self._refresh(action)

    def _refresh(self, action: Action) -> None:
        """Write down the status AWS reports of a known task (state is a cache of it)."""
        record = self.keeper.document.exports.get(action.name)
        task = self.observed.tasks.get(action.import_id or "")
        if record is None or task is None or record.import_id != task.import_id:
            return
        if record.status != task.status:
            self._set(replace(record, status=task.status))

    def _forget(self, action: Action) -> ExportStep:
        """State only; with --stop-removed an active task is cancelled first (what it copied
        stays, as an import's events do)."""
        task = self.observed.tasks.get(action.import_id or "")
        if self.stop_removed and task is not None and task.active:
            try:
                status = self.connector.export_writer(action.account).cancel_task(
                    action.region, task.import_id
                )
            except CloudError as exc:
                return ExportStep(f"not forgotten: CancelImportTask failed ({exc})",
                                  ApplyOutcome.FAILED)  # fmt: skip
            self.keeper.update_exports(lambda records: _drop(records, action.name))
            return ExportStep(f"cancelled task {task.import_id} ({status}) and forgotten",
                              ApplyOutcome.STOPPED)  # fmt: skip
        self.keeper.update_exports(lambda records: _drop(records, action.name))
        still = " (its task still runs: --stop-removed cancels it)" if task and task.active else ""
        return ExportStep(f"forgotten{still}; what it copied stays in CloudWatch Logs",
                          ApplyOutcome.FORGOTTEN)  # fmt: skip

    def _create(self, spec: ExportSpec, kind: ActionKind) -> ExportStep:
        """CREATE, or REPLACE (--replace): a new task for the range, the one it replaces
        kept in the record's `replaced` (never adopted again, and no overlap to this one)."""
        before = self.keeper.document.exports.get(spec.name)
        replaced = before.replaced if before else ()
        if kind is ActionKind.REPLACE and before is not None and before.import_id:
            replaced = (*replaced, before.import_id)
        intent = self._record(spec, intent_at=self.clock(), replaced=replaced)
        self.keeper.update_exports(lambda records: records.__setitem__(spec.name, intent))
        verdict = self._look_again(spec, before)
        if verdict.action is ActionKind.ADOPT and verdict.import_id:
            adopted = self._record(spec, import_id=verdict.import_id, replaced=replaced)
            self.keeper.update_exports(lambda records: records.__setitem__(spec.name, adopted))
            return ExportStep(
                f"not created: task {verdict.import_id} with this range appeared since the "
                "plan; adopted it", ApplyOutcome.ADOPTED,
            )  # fmt: skip
        if verdict.action is not kind:
            self._undo(spec, before)
            return ExportStep(f"not created: the last look found {verdict.reason}",
                              ApplyOutcome.NOT_STARTED)  # fmt: skip
        if spec.role_arn is None:  # the planner never creates an unpinned export without one
            self._undo(spec, before)
            return ExportStep("not created: no role_arn", ApplyOutcome.NOT_STARTED)
        writer = self.connector.export_writer(spec.account)
        self.sent.add(spec.name)
        crash_point("export_before_create")  # the intent is in state, nothing sent
        outcome = writer.create_task(spec.region, spec.source, spec.role_arn, spec.start, spec.end)
        crash_point("export_after_create")  # the task may exist, state holds only the intent
        if outcome.kind is StartResult.STARTED:
            started = self._record(
                spec, import_id=outcome.import_id, status="IN_PROGRESS", replaced=replaced
            )
            self.keeper.update_exports(lambda records: records.__setitem__(spec.name, started))
            instead = f" in place of task {replaced[-1]}" if kind is ActionKind.REPLACE else ""
            return ExportStep(f"created task {outcome.import_id}{instead}", ApplyOutcome.STARTED)
        if outcome.kind is StartResult.UNKNOWN:
            return ExportStep(
                f"CreateImportTask's answer was lost ({outcome.code}: {outcome.message}); the "
                "intent stays, and the next plan finds the task by its range before anything "
                "else starts", ApplyOutcome.UNKNOWN,
            )  # fmt: skip
        self._undo(spec, before)
        return ExportStep(
            f"CreateImportTask refused ({outcome.code}: {outcome.message}); nothing started",
            ApplyOutcome.FAILED,
        )

    def _undo(self, spec: ExportSpec, before: ExportRecordState | None) -> None:
        """Nothing was sent (or AWS said no): the intent goes, the record is as it was."""

        def restore(records: dict[str, ExportRecordState]) -> None:
            if before is None:
                records.pop(spec.name, None)
            else:
                records[spec.name] = before

        self.keeper.update_exports(restore)

    def _look_again(self, spec: ExportSpec, before: ExportRecordState | None) -> Action:
        """The export planned again from a fresh listing of its Region, as if the intent
        had not been written: only an unchanged `create` may go out."""
        place = (spec.account, spec.region)
        try:
            listed = self.connector.exports(spec.account).list_tasks(spec.region)
        except CloudError as exc:
            observed = ExportObservation(errors={place: str(exc)})
        else:
            others = {
                task_id: task
                for task_id, task in self.observed.tasks.items()
                if (task.account, task.region) != place
            }
            fresh = {task.import_id: task for task in listed}
            observed = ExportObservation(
                tasks={**others, **fresh},
                places=frozenset({*self.observed.places, place}),
                log_days=self.observed.log_days,
                count_errors=self.observed.count_errors,
                busy_stores=self.observed.busy_stores,
            )
        # State as it was before this intent: the other exports (a `fills` entry needs the
        # one it fills) and this one's earlier record, if any.
        current = {n: r for n, r in self.keeper.document.exports.items() if n != spec.name}
        if before is not None:
            current[spec.name] = before
        records = export_records(current)
        (verdict,) = plan_exports(
            ExportPlanInput(
                exports=[spec],
                records=records,
                observed=observed,
                import_actions=self.import_actions,
                now=self.clock(),
                grace=self.grace,
                targets=frozenset({spec.name}),  # this export alone: no forgets
                covers=self.covers,
                named=frozenset(self.specs),  # the others are desired: none to rename from
                replace=self.replace,
            )
        )
        return verdict


def _drop(records: dict[str, ExportRecordState], name: str) -> None:
    records.pop(name, None)
