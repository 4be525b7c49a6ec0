"""Apply: carry out a Plan safely (DESIGN.md, "Apply safety (Pinned)").

First every state-only action of the plan is recorded in one write (adopt, rename, forget,
the refresh of noop/running/attention). Then one worker per account and Region takes that
place's queue, one import at a time. Each worker step is level-triggered: observe the place,
plan it again with the same pure planner, and carry out the first start if there is one. So
the re-list before every StartImport that DESIGN.md asks for is the worker's own observation:
an import with the same identity that appeared since the plan is adopted, not started twice,
and an import running there makes the start wait. Without --wait a worker makes one step;
with --wait it polls until its queue is done or the deadline passes.

StartImport itself: the intent and an attempt of unknown outcome are written (fsynced) first,
then the call (never retried by botocore), then its answer. Throttling is retried here, with
backoff; a timeout, lost connection or 5xx leaves the intent for plan to resolve by identity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType

from reconciler.apply import records
from reconciler.apply.relist import look_again
from reconciler.apply.types import ApplyEvents, ApplyOptions, ApplyResult, SilentEvents
from reconciler.errors import CloudError
from reconciler.faultpoints import crash_point
from reconciler.fields import parse_time
from reconciler.gcpause import gc_paused
from reconciler.observed import FINISHED, ONGOING, Observed, ObservedImport, Place
from reconciler.outcomes import ApplyOutcome, AttemptKind, StartResult
from reconciler.plan.desired import Desired, Scope, queue_key, queue_scope_of, store_backoff
from reconciler.plan.facts import progress_of
from reconciler.plan.failures import STORE_NOT_USABLE
from reconciler.plan.observe import foreign_finished, observe
from reconciler.plan.planner import HELD, plan
from reconciler.plan.queues import QueueKey
from reconciler.plan.saved import SavedPlan
from reconciler.plan.types import STARTING, Action, ActionKind, Plan
from reconciler.ports import Connector, StartOutcome, StartRequest
from reconciler.spec import ImportSpec
from reconciler.state.document import ImportRecord
from reconciler.state.keeper import StateKeeper

STATE_ONLY = frozenset(
    {ActionKind.ADOPT, ActionKind.NOOP, ActionKind.RUNNING, ActionKind.ATTENTION}
)


def _ongoing(action: Action) -> bool:
    """An import that is running: shown as running, or just adopted while it runs."""
    if action.action is ActionKind.RUNNING:
        return True
    progress = action.progress
    return action.action is ActionKind.ADOPT and progress is not None and progress.status in ONGOING


def _now() -> datetime:
    return datetime.now(UTC)


# A queue whose store changes in the last moment before every start this many times running
# is left for the next run (someone else is busy there) rather than chased forever.
MAX_WITHDRAWALS = 5
_RESTLESS = (
    f"imports kept appearing in the store right before each start ({MAX_WITHDRAWALS} times); "
    "nothing was started. Run apply again once the store is quiet."
)


def _wait_all(futures: list[Future[None]]) -> None:
    """Wait for the workers, waking often: Linux may hand Ctrl-C to a worker thread, and a main
    thread blocked for good on a lock would never run Python's handler (CPython bpo-21822)."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.2)
        for future in done:
            future.result()  # a worker's exception is raised here


def _restore(current: dict[str, ImportRecord], name: str, before: ImportRecord | None) -> None:
    """Undo an intent that was never sent: the record exactly as it was before it."""
    if before is None:
        current.pop(name, None)
    else:
        current[name] = before


class Applier:
    def __init__(
        self,
        saved: SavedPlan,
        keeper: StateKeeper,
        connector: Connector,
        options: ApplyOptions,
        events: ApplyEvents | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.saved = saved
        self.keeper = keeper
        self.connector = connector
        self.options = options
        self.events = events or SilentEvents()
        self.stop = stop or threading.Event()
        self.clock = clock
        self.specs = {spec.name: spec for spec in saved.specs}
        self.shown = {action.name: action for action in saved.plan.actions}
        self.outcomes: dict[str, str] = {}
        self.kinds: dict[str, ApplyOutcome] = {}  # what the summary counts, per entry
        self.errors: list[str] = []
        self.attention: set[str] = set()
        self.given_up: set[str] = set()  # rejected this run: not started again until next run
        self.started_here: set[str] = set()
        self.ended: dict[str, str] = {}  # status at which an import started here was last seen
        self.timed_out = False
        self.start_gaps: list[float] = []  # seconds from the last ListImports to StartImport
        self._lock = threading.Lock()

    # -- the whole run ------------------------------------------------------------------

    def run(self) -> ApplyResult:
        shown = self.saved.plan
        self._record_state_only(shown.actions, first_pass=True)
        settled = frozenset(a.name for a in shown.of_kind(ActionKind.NOOP) if self._settled(a.name))
        self.options = replace(
            self.options, plan_options=replace(self.options.plan_options, settled=settled)
        )
        busy_keys = {
            self._queue_of(a.account, a.region)
            for a in shown.actions
            if a.action in (*STARTING, ActionKind.QUEUED, ActionKind.PENDING)
            or (self.options.wait and _ongoing(a))
        }
        queues: dict[QueueKey, set[Place]] = {key: set() for key in busy_keys}
        known = {(a.account, a.region) for a in shown.actions}
        known |= {(spec.account, spec.region) for spec in self.saved.specs}
        for place in known:
            key = self._queue_of(*place)
            if key in queues:
                queues[key].add(place)
        deadline = (
            time.monotonic() + self.options.wait_timeout
            if self.options.wait and self.options.wait_timeout is not None
            else None
        )
        if queues and not self.stop.is_set():
            workers = max(1, min(self.options.parallelism, len(queues)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
                futures = [
                    pool.submit(self._work_queue, key, tuple(sorted(places)), deadline)
                    for key, places in sorted(queues.items())
                ]
                try:
                    _wait_all(futures)
                except BaseException:
                    # Ctrl-C (or a bug): no worker starts anything more; each finishes the call
                    # in flight and records it, so the state stays valid for the next run.
                    self.stop.set()
                    raise
        actions = tuple(
            replace(action, outcome=self._final_outcome(action.name)) for action in shown.actions
        )
        return ApplyResult(
            plan=replace(shown, actions=actions),
            errors=list(self.errors),
            attention=set(self.attention),
            timed_out=self.timed_out,
            interrupted=self.stop.is_set(),
            start_gaps=list(self.start_gaps),
            kinds=dict(self.kinds),
        )

    def _queue_of(self, account: str, region: str) -> QueueKey:
        scope = queue_scope_of(account, self.options.plan_options, self.saved.accounts)
        return queue_key(account, region, scope)

    def _final_outcome(self, name: str) -> str:
        text = self.outcomes.get(name, "nothing to do")
        ended = self.ended.get(name)
        return f"{text}; {ended}" if ended else text

    def _outcome(self, name: str, text: str, kind: ApplyOutcome, *, error: bool = False) -> None:
        with self._lock:
            self.outcomes[name] = text
            self.kinds[name] = kind
            if error:
                self.errors.append(f"{name}: {text}")
        self.events.message(name, text, error=error)

    # -- state-only actions ---------------------------------------------------------------

    def record_only(self) -> None:
        """Record what the plan observed (statuses, final details) and start nothing: an
        apply with nothing to change still refreshes state (DESIGN.md, "State")."""
        self._record_state_only(self.saved.plan.actions, first_pass=True)

    def _record_state_only(self, actions: Iterable[Action], *, first_pass: bool) -> None:
        """Adopt, rename, forget and refresh in one state write (they start nothing)."""
        now = self.clock()
        stops: list[Action] = []
        changes: list[Callable[[dict[str, ImportRecord]], None]] = []
        for action in actions:
            kind = action.action
            spec = self.specs.get(action.name)
            with self._lock:  # the latest word on an entry decides whether it needs a person
                if kind is ActionKind.ATTENTION:
                    self.attention.add(action.name)
                elif not first_pass:
                    self.attention.discard(action.name)
            if action.name in self.started_here and action.progress:
                self.events.progress(action.name, action.progress)
                if action.progress.status in FINISHED:
                    with self._lock:
                        self.ended[action.name] = f"then {action.progress.status}"
            if kind is ActionKind.FORGET and first_pass:
                running = action.progress is not None and action.progress.status in ONGOING
                if self.options.stop_removed and running:
                    stops.append(action)
                changes.append(lambda current, name=action.name: current.pop(name, None))  # type: ignore[misc]
                self._outcome(
                    action.name, "forgotten (its events stay in the Lake)", ApplyOutcome.FORGOTTEN
                )
            elif kind is ActionKind.RENAME and first_pass and spec and action.previous_name:
                changes.append(self._renamer(action.previous_name, spec, now))
                self._outcome(
                    action.name, f"renamed from {action.previous_name}", ApplyOutcome.RENAMED
                )
            elif kind in STATE_ONLY and spec is not None:
                if not first_pass and kind is ActionKind.NOOP and self._settled(action.name):
                    continue  # COMPLETED is for good, and the first pass recorded it
                changes.append(self._refresher(spec, action, now))
                if kind is ActionKind.ADOPT:
                    self._outcome(action.name, f"adopted {action.import_id}", ApplyOutcome.ADOPTED)
                elif first_pass:
                    # Refreshing what state knows is routine: an outcome, but no message.
                    with self._lock:
                        quiet = (
                            ApplyOutcome.RECORDED
                            if kind is not ActionKind.ATTENTION
                            else ApplyOutcome.ATTENTION
                        )
                        self.outcomes[action.name] = quiet.value
                        self.kinds[action.name] = quiet
            elif kind is ActionKind.QUEUED and action.not_before and spec is not None:
                changes.append(self._backoff_recorder(action, now))
        for action in stops:
            self._stop_removed(action)
        if changes:

            def apply_all(current: dict[str, ImportRecord]) -> None:
                for change in changes:
                    change(current)

            self.keeper.update(apply_all)

    def _renamer(
        self, old: str, spec: ImportSpec, now: datetime
    ) -> Callable[[dict[str, ImportRecord]], None]:
        def change(current: dict[str, ImportRecord]) -> None:
            record = current.pop(old, None)
            if record is not None:
                current[spec.name] = (
                    records.from_spec(spec, record, now)
                    if record.final
                    else replace(record, name=spec.name, manifest_file=spec.location.file)
                )

        return change

    def _settled(self, name: str) -> bool:
        """A record this run's re-plans need not refresh: final and COMPLETED (re-planning a
        queue after each start must cost what changed, not every record of its store)."""
        record = self.keeper.document.imports.get(name)
        return record is not None and record.final and record.status == "COMPLETED"

    def _refresher(
        self, spec: ImportSpec, action: Action, now: datetime
    ) -> Callable[[dict[str, ImportRecord]], None]:
        def change(current: dict[str, ImportRecord]) -> None:
            record = current.get(spec.name)
            if action.action is ActionKind.ADOPT:
                current[spec.name] = records.adopted(spec, action, record, now)
            elif record is not None:
                current[spec.name] = records.refreshed(spec, action, record, now)

        return change

    def _backoff_recorder(
        self, action: Action, now: datetime
    ) -> Callable[[dict[str, ImportRecord]], None]:
        """A failed import waiting out its backoff: state records when it may be retried."""
        due = parse_time(str(action.not_before))

        def change(current: dict[str, ImportRecord]) -> None:
            record = current.get(action.name)
            if record is not None:
                seen = records.observed(record, action.progress, now)
                current[action.name] = records.retry_due(seen, due)

        return change

    def _stop_removed(self, action: Action) -> None:
        if not action.import_id:
            return
        try:
            status = self.connector.writer(action.account).stop_import(
                action.destination, action.import_id
            )
            self._outcome(
                action.name,
                f"stopped ({status}) and forgotten; its events stay",
                ApplyOutcome.STOPPED,
            )
        except CloudError as exc:
            self._outcome(
                action.name,
                f"forgotten, but StopImport failed: {exc}",
                ApplyOutcome.FORGOTTEN,
                error=True,
            )

    # -- one queue (an account, or an account and Region) ---------------------------------

    def _desired(self, places: tuple[Place, ...]) -> Desired:
        specs = tuple(
            spec
            for spec in self.saved.specs
            if (spec.account, spec.region) in places and spec.name not in self.given_up
        )
        return Desired(
            specs=specs,
            scope=Scope(self.saved.scope or ("",), self.saved.shard),
            accounts=self.saved.accounts,
        )

    def _replan(
        self, places: tuple[Place, ...], known: Observed | None = None
    ) -> tuple[Plan, Observed]:
        """Observe the queue's places (unless `known` is a fresh enough observation) and plan
        them again; also returns what was seen (the last look before a start plans on it)."""
        desired = self._desired(places)
        document = self.keeper.document
        if known is None:
            observed = observe(self.connector.reader, desired, document, places=places)
            self.keeper.remember_foreign(foreign_finished(observed, document))
        else:
            observed = known
        with gc_paused():  # a bulk phase: see gcpause.py
            result = plan(desired, document, observed, self.clock(), self.options.plan_options)
        names = {spec.name for spec in desired.specs}
        # Forgets and renames were settled by the first pass; a queue sees only its entries.
        kept = tuple(
            a
            for a in result.actions
            if a.name in names and a.action not in (ActionKind.FORGET, ActionKind.RENAME)
        )
        return replace(result, actions=kept), observed

    def _work_queue(self, key: QueueKey, places: tuple[Place, ...], deadline: float | None) -> None:
        resolving = False  # after an unknown outcome without --wait: one more look, no start
        withdrawn = 0  # starts called off because the store changed in the last moment
        known: Observed | None = None  # what the last start's look saw, and its import since
        while not self.stop.is_set():
            try:
                current, observed = self._replan(places, known)
            except CloudError as exc:
                self._place_error(key, exc)
                return
            self._record_state_only(current.actions, first_pass=False)
            for action in current.of_kind(ActionKind.RUNNING):
                if action.progress:
                    self.events.progress(action.name, action.progress)
            starter = next((a for a in current.actions if a.action in STARTING), None)
            if starter is not None and self._unshown(starter):
                continue  # given up for this run; plan the queue's other entries again
            known = None
            if starter is not None and not resolving:
                try:
                    started = self._start(starter, places, observed)
                except CloudError as exc:  # e.g. the account's role cannot be assumed
                    self._place_error(key, exc)
                    return
                if started is None:  # the store changed: plan again before anything starts
                    withdrawn += 1
                    if withdrawn > MAX_WITHDRAWALS:
                        self._place_error(key, CloudError(_RESTLESS))
                        return
                    continue
                withdrawn = 0
                outcome, looked = started
                if outcome.kind is StartResult.UNKNOWN and not self.options.wait:
                    resolving = True
                    self._sleep(min(self.options.poll_interval, 1.0))
                elif not self.options.wait:
                    return
                elif outcome.kind is StartResult.REFUSED:
                    # Another import runs in the account (perhaps one nobody manages, in a
                    # Region this queue does not list): look again after a poll, not at once.
                    self._sleep(self.options.poll_interval)
                elif outcome.kind is StartResult.STARTED and outcome.import_id:
                    # Nothing else here starts while it runs: follow it with GetImport, then
                    # plan the queue again (planning now would only show it running). After
                    # a COMPLETED one, that plan uses the last look's listing plus the import
                    # as it ended, not a new listing: the next start looks at its store again
                    # anyway. One that failed is observed afresh (its failures decide a retry).
                    final = self._follow(replace(starter, import_id=outcome.import_id), deadline)
                    if final is not None and final.status == "COMPLETED":
                        known = replace(
                            looked,
                            imports=MappingProxyType({**looked.imports, final.import_id: final}),
                        )
                continue
            if resolving or not self.options.wait:
                return
            busy = [
                action
                for action in current.actions
                if (action.action in (ActionKind.PENDING, ActionKind.QUEUED) or _ongoing(action))
                and action.blocked_by != HELD
            ]
            if not busy:
                return
            if deadline is not None and time.monotonic() >= deadline:
                with self._lock:
                    self.timed_out = True
                    for action in busy:
                        if action.name not in self.outcomes:
                            self.outcomes[action.name] = (
                                f"still {action.action.value} at --wait-timeout"
                            )
                            self.kinds[action.name] = ApplyOutcome.STILL_WAITING
                return
            crash_point("waiting")
            running = [action for action in current.actions if _ongoing(action)]
            if running and running[0].import_id:
                self._follow(running[0], deadline)
            else:
                self._sleep(self.options.poll_interval)

    def _follow(self, action: Action, deadline: float | None) -> ObservedImport | None:
        """Poll one running import with GetImport alone until it finishes (a full re-plan
        lists every import of the queue: too much to repeat every few seconds); the import as
        it ended, or None when the wait stopped first."""
        reader = self.connector.reader(action.account)
        while not self.stop.is_set():
            crash_point("waiting")  # a kill while an import runs: the rerun must only follow it
            self._sleep(self.options.poll_interval)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            try:
                seen = reader.get_import(action.region, action.import_id or "")
            except CloudError:
                return None  # the next re-plan reports it
            progress = progress_of(seen)
            self.events.progress(action.name, progress)
            if not seen.ongoing:
                return seen
        return None

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def _place_error(self, key: QueueKey, exc: CloudError) -> None:
        text = f"{key[0]}/{key[1]}: {exc}" if key[1] else f"{key[0]}: {exc}"
        with self._lock:
            self.errors.append(text)
        self.events.message(None, text, error=True)

    # -- StartImport ----------------------------------------------------------------------

    def _start(
        self, action: Action, places: tuple[Place, ...], observed: Observed
    ) -> tuple[StartOutcome, Observed] | None:
        """Intent, a last look at the store, StartImport, its answer and what the last look
        saw; None when a last look called the start off (the record is as it was, nothing was
        sent). Throttling proves nothing started: the call is sent again after a backoff, each
        time after a new look."""
        spec = self.specs[action.name]
        kind = {ActionKind.RETRY: AttemptKind.RETRY, ActionKind.REPLACE: AttemptKind.REPLACE}.get(
            action.action, AttemptKind.CREATE
        )
        writer = self.connector.writer(spec.account)  # credentials first: no intent without
        now = self.clock()
        basis = self.keeper.document  # as it is right before the intent (records refreshed)
        before = basis.imports.get(spec.name)
        self.keeper.update(
            lambda current: current.__setitem__(
                spec.name, records.intent(spec, kind, current.get(spec.name), now)
            )
        )
        request = StartRequest(
            region=spec.region,
            account=spec.account,
            import_id=action.import_id if kind is AttemptKind.RETRY else None,
            destination=spec.destination,
            source_uri=spec.source_uri,
            bucket_region=spec.bucket_region,
            role_arn=spec.role_arn,
            start=spec.start,
            end=spec.end,
        )
        delay = self.options.throttle_backoff
        for attempt in range(self.options.throttle_retries + 1):
            try:
                verdict = look_again(
                    self.connector.reader(spec.account),
                    spec,
                    action,
                    lambda seen: plan(
                        self._desired(places), basis, seen, self.clock(), self.options.plan_options
                    ),
                    observed,
                    basis,
                )
            except BaseException:
                # The look failed (or Ctrl-C): nothing was sent, so the intent is taken back
                # rather than left for plan to wait out.
                self.keeper.update(lambda current: _restore(current, spec.name, before))
                raise
            if verdict.changed:
                self.keeper.update(lambda current: _restore(current, spec.name, before))
                self._outcome(
                    spec.name,
                    f"not started: {verdict.reason}; planning again",
                    ApplyOutcome.NOT_STARTED,
                )
                return None
            crash_point("before_start")
            with self._lock:
                self.start_gaps.append(time.monotonic() - verdict.answered_at)
            outcome = writer.start_import(request)
            if not outcome.throttled or attempt == self.options.throttle_retries:
                break
            if self.stop.wait(delay):
                break  # interrupted: record the refusal, start nothing more
            delay *= 2
        crash_point("after_start")
        self._record_start(spec, kind, outcome)
        if (
            outcome.kind is not StartResult.REFUSED
        ):  # --retry NAME confirms one StartImport, not a run's worth
            self._spend_confirmation(spec.name)
        return outcome, verdict.seen

    def _unshown(self, starter: Action) -> bool:
        """A start whose findings the approved plan did not show (an overlap accepted by an
        allow_overlap nobody saw, say) is not made: the person approved something else."""
        shown = self.shown.get(starter.name)
        seen = {finding.code for finding in shown.findings} if shown else set()
        new = sorted({finding.code for finding in starter.findings} - seen)
        if not new:
            return False
        with self._lock:
            self.given_up.add(starter.name)
            self.attention.add(starter.name)
        self._outcome(
            starter.name,
            f"not started: it now has findings the approved plan did not show ({', '.join(new)})"
            "; make a new plan and review it",
            ApplyOutcome.NOT_STARTED,
        )
        return True

    def _spend_confirmation(self, name: str) -> None:
        options = self.options.plan_options
        if name in options.retry:
            with self._lock:
                self.options = replace(
                    self.options,
                    plan_options=replace(options, retry=options.retry - {name}),
                )

    def _record_start(self, spec: ImportSpec, kind: AttemptKind, outcome: StartOutcome) -> None:
        now = self.clock()

        def change(current: dict[str, ImportRecord]) -> None:
            record = current[spec.name]
            if outcome.kind is StartResult.STARTED and outcome.import_id:
                current[spec.name] = records.started(record, outcome.import_id, outcome.status, now)
            elif outcome.kind is StartResult.REFUSED:
                refused = records.refused(record, outcome.describe(), now, outcome.code)
                if outcome.code in STORE_NOT_USABLE:  # not usable yet: try later, with backoff
                    backoff = self.options.plan_options.retry_backoff
                    wait = store_backoff(refused, STORE_NOT_USABLE, backoff)
                    refused = records.retry_due(refused, now + wait)
                current[spec.name] = refused
            elif outcome.kind is StartResult.REJECTED:
                current[spec.name] = records.rejected(record, outcome.describe(), now, outcome.code)
            else:
                current[spec.name] = records.unknown(record, outcome.describe(), now)

        self.keeper.update(change)
        verb = {
            AttemptKind.CREATE: "started",
            AttemptKind.RETRY: "retried",
            AttemptKind.REPLACE: "started a replacement:",
        }[kind]
        if outcome.kind is StartResult.STARTED:
            with self._lock:
                self.started_here.add(spec.name)
                self.ended.pop(spec.name, None)
            done = ApplyOutcome.RETRIED if kind is AttemptKind.RETRY else ApplyOutcome.STARTED
            self._outcome(spec.name, f"{verb} {outcome.import_id} ({outcome.status})", done)
        elif outcome.kind is StartResult.REFUSED:
            self._outcome(
                spec.name,
                f"not started yet: {outcome.code} ({outcome.message}); waits",
                ApplyOutcome.NOT_STARTED,
            )
        elif outcome.kind is StartResult.REJECTED:
            with self._lock:
                self.given_up.add(spec.name)
            self._outcome(
                spec.name,
                f"StartImport failed: {outcome.code}: {outcome.message}",
                ApplyOutcome.FAILED,
                error=True,
            )
        else:
            self._outcome(
                spec.name,
                f"outcome unknown ({outcome.code}: {outcome.message}); the intent stays and the "
                "import is looked for by identity before anything else starts here",
                ApplyOutcome.UNKNOWN,
            )
