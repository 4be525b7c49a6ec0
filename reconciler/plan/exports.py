"""The exports' part of the plan: pure, like the imports' planner (no I/O; time passed in).

An export is a CloudWatch Logs import task from an event data store (DOMAIN.md). Its hazards
are an import's: `CreateImportTask` has no client token, so a task already there with the
export's identity (store, start, end) is adopted, never repeated, and an intent whose answer
was lost is settled by proof, never by time alone. Beyond that:

- A task cannot be retried by AWS: a FAILED one is `attention`, with its failed batches.
- At most 3 tasks are active per account (AWS's quota): creates beyond that are `queued`.
- Exports wait for imports: an export whose range meets an import into its store that is
  still to start, pending or running would copy a partial set, so it is `queued` behind them.
- A range that meets another task of the same store (that may have copied events) would copy
  those events twice: `attention`, unless the entry says `allow_overlap: true`.
What a FAILED export left out, and what a re-export would copy twice, is export_gaps.py's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reconciler.exportspec import ExportIdentity, ExportSpec
from reconciler.fields import arn_parts, format_time_ms, parse_time
from reconciler.findings import Evidence, Finding
from reconciler.observed import Failure, Place
from reconciler.observed_exports import ObservedExport
from reconciler.plan import export_gaps
from reconciler.plan.desired import command_hint
from reconciler.plan.preflighted import attach
from reconciler.plan.types import Action, ActionKind, ExportIdentityView
from reconciler.state.document import ExportRecordState

MAX_ACTIVE_PER_ACCOUNT = 3
IMPORT_MARGIN = timedelta(days=1)
# Import actions whose events are not all in the store yet.
UNSETTLED_IMPORTS = frozenset(
    {
        ActionKind.CREATE,
        ActionKind.RETRY,
        ActionKind.REPLACE,
        ActionKind.QUEUED,
        ActionKind.PENDING,
        ActionKind.RUNNING,
    }
)


@dataclass(frozen=True)
class ExportRecord:
    """What state remembers of one export (the planner's view of it)."""

    name: str
    identity: ExportIdentity
    import_id: str | None = None
    intent_at: datetime | None = None  # CreateImportTask sent; its answer not yet recorded
    not_ours: tuple[str, ...] = ()  # tasks a person said do not answer the intent
    manifest_file: str = ""  # where its entry was: only a run over that file may forget it
    replaced: tuple[str, ...] = ()  # tasks it replaced (--replace): its own, never adopted


@dataclass(frozen=True)
class ExportObservation:
    tasks: Mapping[str, ObservedExport] = field(default_factory=dict)  # by importId
    places: frozenset[Place] = frozenset()  # (account, Region) listed completely
    errors: Mapping[Place, str] = field(default_factory=dict)
    # Per export name: events its log group holds per UTC day ("YYYY-MM-DD") in its range;
    # None: they could not be counted. Asked for FAILED tasks and `fills` entries only.
    log_days: Mapping[str, Mapping[str, int] | None] = field(default_factory=dict)
    count_errors: Mapping[str, str] = field(default_factory=dict)  # why a count is None
    # Stores with an import running there as AWS reports it (managed or not): an export of
    # such a store waits, whatever this run's plan holds.
    busy_stores: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExportPlanInput:
    exports: Sequence[ExportSpec]
    records: Mapping[str, ExportRecord]
    observed: ExportObservation
    import_actions: Sequence[Action]  # the imports' plan, for what exports wait for
    now: datetime
    findings: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)  # preflight
    grace: timedelta = timedelta(minutes=10)
    skew: timedelta = timedelta(minutes=5)
    targets: frozenset[str] = frozenset()
    # What the run covers (as for imports): records of other files or shards are left alone.
    covers: Callable[[str, str], bool] = lambda account, manifest_file: True
    # Every export the manifests name (the last look plans one of them: the others are not
    # orphans to rename from).
    named: frozenset[str] | None = None
    # --replace NAME: a new task over the range of a FAILED, CANCELLED or vanished one.
    replace: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()  # the run's PATHS, for hints that must work as printed


def view(identity: ExportIdentity) -> ExportIdentityView:
    return ExportIdentityView(
        source=identity.source,
        start=format_time_ms(identity.start) if identity.start else None,
        end=format_time_ms(identity.end) if identity.end else None,
    )


def _may_hold_events(task: ObservedExport) -> bool:
    """Only a task that ended without copying anything is harmless to overlap."""
    if task.status in ("FAILED", "CANCELLED"):
        return task.bytes_imported is None or task.bytes_imported > 0
    return True


class _ExportPlanner:
    def __init__(self, given: ExportPlanInput) -> None:
        self.given = given
        self.claimed = {r.import_id for r in given.records.values() if r.import_id}
        self.claimed |= {task for r in given.records.values() for task in r.replaced}
        self.claimed |= {spec.import_id for spec in given.exports if spec.import_id}
        desired = given.named if given.named is not None else {s.name for s in given.exports}
        # Records no manifest names any more, by identity: a renamed entry finds its own.
        self.orphans: dict[ExportIdentity, ExportRecord] = {
            r.identity: r
            for name, r in sorted(given.records.items())
            if name not in desired and _covered(given, r)
        }
        self.renamed: set[str] = set()  # old names taken over: not forgotten

    def _action(
        self,
        spec: ExportSpec,
        kind: ActionKind,
        reason: str,
        import_id: str | None = None,
        failures: tuple[Failure, ...] = (),
    ) -> Action:
        identity = view(spec.identity)
        return Action(
            name=spec.name,
            action=kind,
            reason=reason,
            account=spec.account,
            region=spec.region,
            destination=identity.destination,
            import_id=import_id,
            identity=identity,
            attributes={"role_arn": spec.role_arn},
            failures=failures,
            manifest=spec.location.describe(),
            kind="export",
        )

    def _place_error(self, spec: ExportSpec) -> str | None:
        place = (spec.account, spec.region)
        if place in self.given.observed.places:
            return None
        return self.given.observed.errors.get(place, "its Region was not listed")

    def _tasks_of(self, source: str) -> list[ObservedExport]:
        found = [t for t in self.given.observed.tasks.values() if t.source == source]
        return sorted(found, key=lambda t: (t.created or datetime.min, t.import_id))

    def entry(self, spec: ExportSpec) -> Action:
        error = self._place_error(spec)
        if error is not None:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"cannot list the CloudWatch Logs import tasks of {spec.account}/{spec.region} "
                f"({error}); nothing is decided for this export until they can be read",
            )
        record = self.given.records.get(spec.name)
        if spec.import_id:
            return self._pinned(spec, spec.import_id)
        if record is not None and record.import_id:
            return self._managed(spec, record, record.import_id)
        if record is not None and record.intent_at is not None:
            if record.identity != spec.identity:
                return self._action(
                    spec,
                    ActionKind.ATTENTION,
                    f"the range changed ({_range(record.identity)} -> {_range(spec.identity)}) "
                    "while a CreateImportTask for the old range has no answer: put the old range "
                    "back until the plan settles it",
                )
            return self._unanswered(spec, record, record.intent_at)
        if spec.fills and record is None:
            held = self._fill(spec)
            if held is not None:
                return held
        previous = self.orphans.get(spec.identity) if record is None else None
        if previous is not None and previous.name not in self.renamed:
            self.renamed.add(previous.name)
            return replace(
                self._action(
                    spec,
                    ActionKind.RENAME,
                    f"the entry was renamed from '{previous.name}' (same store and range): "
                    "state follows the name, nothing is copied again",
                    import_id=previous.import_id,
                ),
                previous_name=previous.name,
            )
        return self._new(spec)

    def _pinned(self, spec: ExportSpec, import_id: str) -> Action:
        task = self.given.observed.tasks.get(import_id)
        if task is None:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"import_id {import_id} names no CloudWatch Logs import task in "
                f"{spec.account}/{spec.region}; fix the ID or remove it",
                import_id=import_id,
            )
        if task.identity != spec.identity:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"task {import_id} copies {_range(task.identity)} from {task.source}, not what "
                "the entry says; write the task's own source and range, or remove import_id",
                import_id=import_id,
            )
        record = self.given.records.get(spec.name)
        if record is None or record.import_id != import_id:
            return self._action(
                spec, ActionKind.ADOPT, f"adopt task {import_id} ({task.status})",
                import_id=import_id,
            )  # fmt: skip
        return self._by_status(spec, task)

    def _managed(self, spec: ExportSpec, record: ExportRecord, import_id: str) -> Action:
        task = self.given.observed.tasks.get(import_id)
        if record.identity != spec.identity:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"the range changed ({_range(record.identity)} -> {_range(spec.identity)}) "
                f"after task {import_id} started; a new export would copy the shared part "
                "again. Export only the new part under a new name, or forget this one",
                import_id=import_id,
            )
        if task is None:
            if spec.name in self.given.replace:
                return self._replacement(spec, record, None, import_id)
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"task {import_id} is no longer listed in {spec.account}/{spec.region}; "
                "check the log group before exporting again; to export the range again "
                f"anyway, confirm it with {self._replace_hint(spec)}",
                import_id=import_id,
            )
        if task.status in ("FAILED", "CANCELLED") and spec.name in self.given.replace:
            return self._replacement(spec, record, task, import_id)
        return self._by_status(spec, task)

    def _by_status(self, spec: ExportSpec, task: ObservedExport) -> Action:
        copied = f"{task.bytes_imported:,} bytes copied" if task.bytes_imported else "nothing yet"
        if task.status == "IN_PROGRESS":
            return self._action(
                spec, ActionKind.RUNNING, f"task {task.import_id} is copying ({copied})",
                import_id=task.import_id,
            )  # fmt: skip
        if task.status == "COMPLETED":
            return self._action(
                spec, ActionKind.NOOP, f"task {task.import_id} completed ({copied})",
                import_id=task.import_id,
            )  # fmt: skip
        failures = tuple(
            Failure(batch.batch_id, batch.status, "", batch.error or "")
            for batch in task.batches or ()
            if batch.status == "FAILED"
        )
        if task.status == "FAILED":
            count = f"{len(failures)} failed batch(es)" if task.batches is not None else "batches"
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"task {task.import_id} FAILED ({task.error or 'no message'}; {count}, "
                f"{copied}); AWS cannot retry a task, and its batches carry no time range. "
                f"Fix the cause (role, KMS key), then {self._gaps_advice(spec)}",
                import_id=task.import_id,
                failures=failures,
            )
        return self._action(
            spec,
            ActionKind.ATTENTION,
            f"task {task.import_id} is {task.status} ({copied}); exporting again copies what "
            "it copied a second time: export only the missing part under a new name, or "
            f"confirm a whole new export of the range with {self._replace_hint(spec)}",
            import_id=task.import_id,
        )

    def _gaps_advice(self, spec: ExportSpec) -> str:
        hint = self._replace_hint(spec)
        return export_gaps.gaps_advice(spec, self.given.observed, hint)

    def _replace_hint(self, spec: ExportSpec) -> str:
        """How a whole re-export is confirmed, as the person runs it. A pinned entry names its
        task for good, so the pin goes first (--replace does not move a pin)."""
        command = command_hint(self.given.paths, "--replace", spec.name)
        if spec.import_id:
            return f"{command} once the entry's import_id is removed"
        return command

    def _replacement(
        self,
        spec: ExportSpec,
        record: ExportRecord,
        task: ObservedExport | None,
        import_id: str,
    ) -> Action:
        """--replace: a new task over the whole range of one that FAILED, was CANCELLED or
        is no longer listed. AWS cannot retry a task, so this is the only way to copy again
        what could not be counted; the plan says how many events it copies a second time."""
        excused = {import_id, *record.replaced}
        others = [t for t in self._tasks_of(spec.source) if t.import_id not in excused]
        same = [
            t for t in others if t.identity == spec.identity and t.import_id not in self.claimed
        ]
        if same:  # someone exported the range again already: adopt it, never a second one
            return self._action(
                spec,
                ActionKind.ADOPT,
                f"--replace {spec.name}: task {same[0].import_id} ({same[0].status}) already "
                f"copies this range again; adopt it, never start it twice",
                import_id=same[0].import_id,
            )
        overlapping = [
            t for t in others if _may_hold_events(t) and spec.identity.meets(t.start, t.end)
        ]
        if overlapping and not spec.allow_overlap:
            other = overlapping[0]
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"--replace {spec.name}: the range also meets task {other.import_id} "
                f"({other.status}, {_range(other.identity)}) of the same store: its events "
                "would be copied twice as well; narrow the range, or set allow_overlap: true",
                import_id=import_id,
            )
        was = (
            f"task {import_id} ({task.status})" if task else f"task {import_id} (no longer listed)"
        )
        return self._action(
            spec,
            ActionKind.REPLACE,
            f"--replace confirmed: a new task copies {_range(spec.identity)} again, in place "
            f"of {was}; {export_gaps.copied_twice(spec, task, self.given.observed)}",
            import_id=import_id,
        )

    def _fill(self, spec: ExportSpec) -> Action | None:
        """An entry that completes a FAILED export: only while that export has ended FAILED
        (or CANCELLED) and the log group holds no event in the entry's range."""
        filled = self.given.records.get(spec.fills or "")
        task = self.given.observed.tasks.get(filled.import_id or "") if filled else None
        if task is None or task.status == "IN_PROGRESS":
            return self._action(
                spec,
                ActionKind.QUEUED if task is not None else ActionKind.ATTENTION,
                f"fills '{spec.fills}', whose task "
                + ("is still copying: it waits for its end" if task is not None
                   else "is not known in state: nothing to fill yet"),
            )  # fmt: skip
        if task.status == "COMPLETED":
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"fills '{spec.fills}', whose task {task.import_id} COMPLETED: there is nothing "
                "to fill; remove this entry",
            )
        blocked = export_gaps.fill_blocked(spec, self.given.observed)
        if blocked is not None:
            return self._action(spec, ActionKind.ATTENTION, blocked)
        return None  # nothing there: planned as a new export, past the filled task's overlap

    def _unanswered(self, spec: ExportSpec, record: ExportRecord, since: datetime) -> Action:
        """Proof, never time alone: a task with this identity answers the intent; a task of
        the store created since, with another identity, needs a person."""
        after = since - self.given.skew
        candidates = [
            task
            for task in self._tasks_of(spec.source)
            if task.import_id not in self.claimed
            and task.import_id not in record.not_ours
            and (task.created is None or task.created >= after)
        ]
        same = [task for task in candidates if task.identity == spec.identity]
        if len(same) == 1:
            return self._action(
                spec,
                ActionKind.ADOPT,
                f"task {same[0].import_id} answers the CreateImportTask whose answer was lost",
                import_id=same[0].import_id,
            )
        if same or candidates:
            ids = ", ".join(task.import_id for task in (same or candidates))
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"the CreateImportTask of {format_time_ms(since)} got no answer, and tasks of "
                f"this store appeared since ({ids}); nothing starts until a person decides: pin "
                "the one that is this export's with import_id, or, if none is, remove the "
                f"record (reconcile state rm {spec.name}) to plan it afresh",
            )
        if self.given.now - since < self.given.grace:
            return self._action(
                spec,
                ActionKind.PENDING,
                f"CreateImportTask sent at {format_time_ms(since)} got no answer yet; waiting "
                "for the task to be listed",
            )
        why = "the unanswered CreateImportTask never reached AWS: "
        if record.replaced:  # the person confirmed it copies the old task's events again
            why = (
                f"the unanswered CreateImportTask (the --replace of task {record.replaced[-1]}, "
                "confirmed earlier: its events are copied again) never reached AWS: "
            )
        return self._new(spec, why, excused=record.replaced)

    def _new(self, spec: ExportSpec, why: str = "", excused: Iterable[str] = ()) -> Action:
        """A create, unless a task has the identity already or the range meets one that may
        hold events (`excused`: tasks a confirmed --replace of this export took over)."""
        tasks = self._tasks_of(spec.source)
        same = [t for t in tasks if t.identity == spec.identity and t.import_id not in self.claimed]
        if len(same) == 1:
            task = same[0]
            return self._action(
                spec,
                ActionKind.ADOPT,
                f"{why}task {task.import_id} ({task.status}) already copies this range: adopt "
                "it, never start it twice",
                import_id=task.import_id,
            )
        if len(same) > 1:
            ids = ", ".join(task.import_id for task in same)
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"{len(same)} tasks already copy this range ({ids}); pin the one to keep "
                "with import_id",
            )
        filled = self.given.records.get(spec.fills or "")
        excused = set(excused)
        if filled is not None and filled.import_id:
            excused.add(filled.import_id)  # checked by _fill: no event held in the range
        overlapping = [
            t
            for t in tasks
            if _may_hold_events(t)
            and t.identity
            and spec.identity.meets(t.start, t.end)
            and t.import_id not in excused
        ]
        if overlapping and not spec.allow_overlap:
            task = overlapping[0]
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"the range meets task {task.import_id} ({task.status}, "
                f"{_range(task.identity)}) of the same store: those events would be copied "
                "twice; narrow the range, or set allow_overlap: true",
            )
        return self._action(
            spec, ActionKind.CREATE, f"{why}copy {_range(spec.identity)} to CloudWatch Logs"
        )


def _range(identity: ExportIdentity | None) -> str:
    return identity.range_text() if identity is not None else "(unknown range)"


def _waits_for_imports(
    spec: ExportSpec, import_actions: Iterable[Action], busy_stores: frozenset[str]
) -> list[str]:
    names = [f"an import running in {spec.source}"] if spec.source in busy_stores else []
    for other in import_actions:
        if other.kind != "import" or other.destination != spec.source:
            continue
        if other.action not in UNSETTLED_IMPORTS and other.action is not ActionKind.ATTENTION:
            continue  # (an import needing attention may still bring events: it counts)
        start, end = other.identity.start, other.identity.end
        # An import's range is of log-file times; the events in a file can be older or newer
        # than its name says. Waiting too long is recoverable, a partial copy is not.
        begins = parse_time(start) - IMPORT_MARGIN if start else None
        ends = parse_time(end) + IMPORT_MARGIN if end else None
        if spec.identity.meets(begins, ends):
            names.append(other.name)
    return names


def plan_exports(given: ExportPlanInput) -> list[Action]:
    """One action per desired export (in manifest order), then forgets; creates held for the
    imports they would miss and for AWS's 3 active tasks per account."""
    planner = _ExportPlanner(given)
    ordered = sorted(given.exports, key=lambda s: (s.location.file, s.location.index))
    specs = {spec.name: spec for spec in ordered}
    actions = [
        planner.entry(spec) for spec in ordered if not given.targets or spec.name in given.targets
    ]
    active: dict[str, list[str]] = defaultdict(list)
    for task in sorted(given.observed.tasks.values(), key=lambda t: t.import_id):
        if task.active:
            active[task.account].append(task.import_id)
    held = []
    for found in actions:
        evidence = given.findings.get(found.name)
        action = attach(found, Evidence(evidence, None)) if evidence else found
        if action.action not in (ActionKind.CREATE, ActionKind.REPLACE):
            held.append(action)
            continue
        waits = _waits_for_imports(
            specs[action.name], given.import_actions, given.observed.busy_stores
        )
        if waits:
            held.append(
                replace(
                    action,
                    action=ActionKind.QUEUED,
                    reason=f"{action.reason}, once the imports into its store that meet the "
                    f"range are in ({', '.join(waits)}): exporting now would copy a partial set",
                    blocked_by=waits[0],
                )
            )
            continue
        running = active[action.account]
        if len(running) >= MAX_ACTIVE_PER_ACCOUNT:
            held.append(
                replace(
                    action,
                    action=ActionKind.QUEUED,
                    reason=f"{action.reason}, when one of the {MAX_ACTIVE_PER_ACCOUNT} active "
                    f"tasks of account {action.account} ends",
                    queue_position=len(running) - MAX_ACTIVE_PER_ACCOUNT + 1,
                    blocked_by=running[0],
                )
            )
            running.append(action.name)
            continue
        running.append(action.name)
        held.append(action)
    if not given.targets:
        held.extend(_forgets(given, set(specs) | planner.renamed))
    return held


def _covered(given: ExportPlanInput, record: ExportRecord) -> bool:
    account = arn_parts(record.identity.source)[0]
    return given.covers(account, record.manifest_file)


def _forgets(given: ExportPlanInput, desired: set[str]) -> list[Action]:
    result = []
    for name in sorted(set(given.records) - desired):
        record = given.records[name]
        if not _covered(given, record):
            continue  # another file's or shard's: this run leaves it alone
        identity = view(record.identity)
        source = record.identity.source
        account, region = arn_parts(source)
        result.append(
            Action(
                name=name,
                action=ActionKind.FORGET,
                reason="no longer in the manifests: forget it (what it copied stays in "
                "CloudWatch Logs)",
                account=account,
                region=region,
                destination=identity.destination,
                import_id=record.import_id,
                identity=identity,
                kind="export",
            )
        )
    return result


def export_records(state_exports: Mapping[str, ExportRecordState]) -> dict[str, ExportRecord]:
    """The planner's view of the state's export records."""
    return {
        name: ExportRecord(
            name=name,
            identity=r.identity,
            import_id=r.import_id,
            intent_at=r.intent_at,
            manifest_file=r.manifest_file,
            replaced=r.replaced,
        )
        for name, r in state_exports.items()
    }
