"""The pure diff: (desired, state, observed, now) -> Plan. No I/O, no clock, no AWS.

Decisions, in the order they are made for each manifest entry (DESIGN.md, "Plan actions"):
an entry without a state record is adopted (by `import_id`, or the one AWS import with its
identity), renamed (a state record of a removed entry with the same identity), or created. An
entry with a record follows its import: COMPLETED -> noop, running -> running, FAILED/STOPPED
-> retry or attention, pending intent -> pending/adopt/create, identity changed or import
vanished -> replace (only when confirmed) or attention. Then state records whose entries left
the manifests in scope are forgotten, and the starters of each account and Region are put in
one queue: only the first may start, and only when nothing is ongoing there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from reconciler.fields import arn_parts, format_time
from reconciler.observed import ONGOING, Observed, ObservedImport
from reconciler.outcomes import AttemptKind
from reconciler.plan.desired import (
    CLOCK_SKEW,
    STORE_WAIT_LIMIT,
    Desired,
    PlanOptions,
    command_hint,
    queue_key,
    queue_scope_of,
    retry_not_before,
    store_refused_since,
)
from reconciler.plan.facts import (
    failed_entries,
    field_changes,
    identity_document,
    progress_of,
    record_document,
    so_far,
    spec_document,
    view,
)
from reconciler.plan.failures import STORE_NOT_USABLE, user_fixes
from reconciler.plan.overlaps import (
    Holder,
    HolderIndex,
    allowed_finding,
    events_at_stake,
    holder_of_record,
    holders_of,
    overlap_finding,
    overlapping,
    store_key,
)
from reconciler.plan.preflighted import Preflight, with_preflight
from reconciler.plan.queues import QueueKey, assign_queues
from reconciler.plan.types import (
    STARTING,
    Action,
    ActionKind,
    Basis,
    Change,
    Finding,
    Plan,
    UnmanagedImport,
)
from reconciler.spec import Identity, ImportSpec, attributes_document
from reconciler.state.document import ImportRecord, StateDocument


@dataclass
class _Planner:
    desired: Desired
    state: StateDocument
    observed: Observed
    now: datetime
    options: PlanOptions
    claimed: set[str] = field(default_factory=set)  # ImportIds assigned to an entry
    renamed_from: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.desired_names = {spec.name for spec in self.desired.specs}
        self.wanted = {spec.identity: spec.name for spec in self.desired.specs}
        self.managed_ids = {
            id_
            for record in self.state.imports.values()
            for id_ in [record.import_id, *(a.import_id for a in record.attempts)]
            if id_
        }
        # Sorted only where order can matter (apply re-plans a queue after every start, so
        # these run over every record and import of its stores each time).
        self.by_identity: dict[Identity, list[ObservedImport]] = defaultdict(list)
        for observed in self.observed.imports.values():
            if observed.identity is not None:
                self.by_identity[observed.identity].append(observed)
        for same in self.by_identity.values():
            if len(same) > 1:
                same.sort(key=lambda o: o.import_id)
        self.orphans = {
            name: self.state.imports[name]
            for name in sorted(self.state.imports.keys() - self.desired_names)
            if self.desired.scope.covers_record(self.state.imports[name])
        }
        names_by_id: dict[str, str] = {}  # an ID two records name goes to the first by name
        for name, record in self.state.imports.items():
            for id_ in [record.import_id, *(a.import_id for a in record.attempts)]:
                if id_ and (id_ not in names_by_id or name < names_by_id[id_]):
                    names_by_id[id_] = name
        self.holders = holders_of(self.observed, names_by_id, self.orphans)
        self.holder_index = HolderIndex(self.holders)

    # -- building blocks ---------------------------------------------------------------

    def _retry_hint(self, spec: ImportSpec) -> str:
        """`reconcile apply [PATHS] --retry NAME`, as the person runs it: a hint must work as
        printed (PATHS unless they are apply's default)."""
        return command_hint(self.desired.scope.paths, "--retry", spec.name)

    def _action(self, spec: ImportSpec, kind: ActionKind, reason: str, **extra: Any) -> Action:
        account, region = spec.account, spec.region
        return Action(
            name=spec.name,
            action=kind,
            reason=reason,
            account=account,
            region=region,
            destination=spec.destination,
            import_id=extra.pop("import_id", None),
            identity=view(spec.identity),
            attributes=attributes_document(spec),
            manifest=spec.location.describe(),
            **extra,
        )

    def _unclaimed_matches(self, identity: Identity) -> list[ObservedImport]:
        return [
            observed
            for observed in self.by_identity.get(identity, [])
            if observed.import_id not in self.managed_ids and observed.import_id not in self.claimed
        ]

    def _listing_failed(self, spec: ImportSpec) -> Action | None:
        error = self.observed.errors.get((spec.account, spec.region))
        if error is None:
            return None
        return self._action(
            spec,
            ActionKind.ATTENTION,
            f"could not list imports in {spec.account}/{spec.region}: {error}",
        )

    # -- entries without a state record -------------------------------------------------

    def new_entry(self, spec: ImportSpec) -> Action:
        if spec.import_id:
            return self._pinned(spec)
        for old_name, record in self.orphans.items():
            if old_name not in self.renamed_from and record.identity == spec.identity:
                self.renamed_from.add(old_name)
                return self._action(
                    spec,
                    ActionKind.RENAME,
                    f"renamed from '{old_name}' (same identity); state moves, nothing starts",
                    import_id=record.import_id,
                    previous_name=old_name,
                    changes=(Change("name", old_name, spec.name),),
                )
        return self._find_or_create(spec, "not in state")

    def _pinned(self, spec: ImportSpec) -> Action:
        observed = self.observed.imports.get(spec.import_id or "")
        if observed is None:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"import_id {spec.import_id} is not among the imports of "
                f"{spec.account}/{spec.region}; check the ID or remove it",
                import_id=spec.import_id,
            )
        if observed.identity is not None and observed.identity != spec.identity:
            changes = field_changes(
                {"identity": identity_document(observed.identity)},
                {"identity": identity_document(spec.identity)},
            )
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"import_id {spec.import_id} has a different identity than this entry; make the "
                "entry match the import, or remove import_id",
                import_id=spec.import_id,
                changes=changes,
            )
        self.claimed.add(observed.import_id)
        return self._action(
            spec,
            ActionKind.ADOPT,
            f"adopt {observed.status} import pinned by import_id; nothing starts",
            import_id=observed.import_id,
            progress=progress_of(observed),
        )

    def _find_or_create(self, spec: ImportSpec, why: str) -> Action:
        failed = self._listing_failed(spec)
        if failed:
            return failed
        matches = self._unclaimed_matches(spec.identity)
        found = self._adopt_the_one(
            spec,
            matches,
            f"{why}; an import with the same identity exists ({{status}}): adopt it, "
            "nothing starts",
            f"{len(matches)} imports in AWS have this identity ({{ids}}); pick one with "
            "import_id in the manifest",
        )
        if found is not None:
            return found
        reason = f"{why}; no import with this identity in AWS"
        create = self._action(spec, ActionKind.CREATE, reason)
        return self._guarded(spec, create)

    def _guarded(
        self,
        spec: ImportSpec,
        action: Action,
        *,
        replacing: bool = False,
        holders: list[Holder] | None = None,
    ) -> Action:
        """No create or replace over events the store already holds (DESIGN.md, "Apply
        safety"); `allow_overlap: true` is the only way through, and it stays visible."""
        if holders is None:
            holders = self.holder_index.overlapping(spec.identity)
        if not holders:
            return action
        if spec.allow_overlap:
            return replace(action, findings=(*action.findings, allowed_finding(spec, holders)))
        finding = overlap_finding(spec, holders, replacing=replacing)
        return replace(
            action,
            action=ActionKind.ATTENTION,
            reason=f"would {action.action.value}, but its range overlaps "
            f"{len(holders)} import(s) already in the store: events would be stored twice "
            "(see the overlaps-existing-import finding)",
            findings=(*action.findings, finding),
        )

    def _adopt_the_one(
        self, spec: ImportSpec, matches: list[ObservedImport], adopt: str, ambiguous: str
    ) -> Action | None:
        """Exactly one match is adopted; several need a person (never a guess); none: None.
        `adopt` may name {status}, `ambiguous` {ids}."""
        if len(matches) == 1:
            found = matches[0]
            self.claimed.add(found.import_id)
            # The import keeps what it was started with (a retry sends only its ImportId):
            # adoption records that, and shows where the manifest says otherwise.
            started_with = {"role_arn": found.role_arn, "bucket_region": found.bucket_region}
            wanted = {"role_arn": spec.role_arn, "bucket_region": spec.bucket_region}
            changes = tuple(
                Change(field, started_with[field], wanted[field])
                for field in ("bucket_region", "role_arn")
                if started_with[field] and started_with[field] != wanted[field]
            )
            reason = adopt.format(status=found.status)
            if changes:
                fields = ", ".join(change.field for change in changes)
                reason += (
                    f"; it was started with another {fields} than the manifest says, and keeps "
                    "it (a retry cannot carry the new value)"
                )
            return self._action(
                spec,
                ActionKind.ADOPT,
                reason,
                import_id=found.import_id,
                progress=progress_of(found),
                changes=changes,
            )
        if len(matches) > 1:
            ids = ", ".join(m.import_id for m in matches)
            return self._action(spec, ActionKind.ATTENTION, ambiguous.format(ids=ids))
        return None

    # -- entries with a state record ----------------------------------------------------

    def existing_entry(self, spec: ImportSpec, record: ImportRecord) -> Action:
        failed = self._listing_failed(spec)
        if failed:
            return failed
        if spec.import_id and spec.import_id != record.import_id:
            return self._pinned(spec)  # the manifest names the import: it wins over state
        if record.identity != spec.identity:
            return self._identity_changed(spec, record)
        if record.intent is not None and record.import_id is None:
            return self._unresolved_start(spec, record)
        if record.import_id is None:
            if record.starts >= spec.retry.max_attempts:
                return self._action(
                    spec,
                    ActionKind.ATTENTION,
                    f"StartImport was rejected {record.starts} time(s), all "
                    f"{spec.retry.max_attempts} attempts used; last error: {record.last_error}",
                )
            waiting = self._store_wait(spec, record)
            if waiting is not None:
                return waiting
            return self._find_or_create(spec, "state holds no ImportId")
        observed = self.observed.imports.get(record.import_id)
        if observed is None:
            return self._vanished(spec, record)
        self.claimed.add(observed.import_id)
        if (
            record.intent is not None
            and record.intent.kind == AttemptKind.RETRY
            and not observed.ongoing
        ):
            reached = (
                observed.updated is not None and observed.updated >= record.intent.at - CLOCK_SKEW
            )
            if not reached and self.now - record.intent.at < self.options.grace:
                return self._action(
                    spec,
                    ActionKind.PENDING,
                    f"a retry was sent at {format_time(record.intent.at)} with no answer "
                    "recorded; waiting for it to show",
                    import_id=record.import_id,
                    progress=progress_of(observed),
                )
        return self._by_status(spec, record, observed)

    def _attribute_changes(self, spec: ImportSpec, record: ImportRecord) -> tuple[Change, ...]:
        # The common case, decided without building two documents to compare.
        recorded = (record.bucket_region, record.role_arn, record.max_attempts)
        if recorded == (spec.bucket_region, spec.role_arn, spec.retry.max_attempts) and (
            record.retry_stopped == spec.retry.stopped
        ):
            return ()
        return field_changes(
            record_document(record)["attributes"], spec_document(spec)["attributes"]
        )

    def _by_status(
        self, spec: ImportSpec, record: ImportRecord, observed: ObservedImport
    ) -> Action:
        changes = self._attribute_changes(spec, record)
        # A retry sends only the ImportId: the import keeps the role and Region it started with.
        kept = [c.field for c in changes if c.field in ("role_arn", "bucket_region")]
        role_changed = bool(kept)
        what = " and ".join(sorted(kept))
        common: dict[str, Any] = {
            "import_id": observed.import_id,
            "progress": progress_of(observed),
            "changes": changes,
            "failures": observed.failures,
        }
        status = observed.status
        if status == "COMPLETED":
            reason = f"COMPLETED{so_far(observed)}"
            if changes:
                reason += "; new attribute values are recorded, the import is not replaced"
            return self._action(spec, ActionKind.NOOP, reason, **common)
        if role_changed and status in ONGOING:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"{status}, and {what} changed: the import keeps what it started with. "
                f"Restore the old {what}, or let it finish (or stop it) and plan again",
                **common,
            )
        if role_changed and status in ("FAILED", "STOPPED"):
            # A retry sends only the ImportId, so it would go out with the old role: only a
            # new import carries the new one, and --replace is how a person confirms that.
            return self._replace_or_attention(
                spec,
                record,
                confirmed=f"{status}, and {what} changed; confirmed with --replace: a new "
                f"import starts with the new {what.replace('role_arn', 'role')}",
                unconfirmed=f"{status}, and {what} changed: a retry keeps the "
                f"{what.replace('role_arn', 'role')} the import started with. Restore the old "
                f"{what}, or confirm a new import with --replace {spec.name}",
                changes=changes,
            )
        if status in ONGOING:
            return self._action(
                spec, ActionKind.RUNNING, f"{status}{so_far(observed)} so far", **common
            )
        if status in ("FAILED", "STOPPED"):
            return self._retry_or_attention(spec, record, observed, common)
        return self._action(
            spec, ActionKind.ATTENTION, f"unknown import status {status!r}", **common
        )

    def _retry_or_attention(
        self,
        spec: ImportSpec,
        record: ImportRecord,
        observed: ObservedImport,
        common: dict[str, Any],
    ) -> Action:
        status = observed.status
        used = max(record.starts, 1)
        limit = spec.retry.max_attempts
        what = f"{status}{failed_entries(observed)}"
        if status == "STOPPED" and not spec.retry.stopped:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"{what}; STOPPED imports are retried only with retry.stopped: true",
                **common,
            )
        if used >= limit:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"{what}; all {limit} attempt{'s' if limit != 1 else ''} used (retry.max_attempts)",
                **common,
            )
        confirmed = spec.name in self.options.retry
        fixes = user_fixes(observed.failures) if status == "FAILED" else None
        if fixes and not confirmed:
            kinds = sorted({f.error_type for f in observed.failures if f.status != "SUCCEEDED"})
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"{what}; every failure is one a retry cannot cure ({', '.join(kinds)}): "
                f"{'; '.join(fixes)}. Then say it is fixed: {self._retry_hint(spec)}",
                **common,
            )
        waiting = self._store_wait(spec, record, common)
        if waiting is not None:
            return waiting
        reason = f"{what}; attempt {used + 1} of {limit}"
        if confirmed:
            return self._action(spec, ActionKind.RETRY, f"{reason} (--retry)", **common)
        not_before = retry_not_before(record, observed, self.options.retry_backoff)
        common = {**common, "not_before": format_time(not_before) if not_before else None}
        if not_before is not None and self.now < not_before:
            return self._action(
                spec,
                ActionKind.QUEUED,
                f"{reason}, after backoff at {format_time(not_before)}",
                blocked_by=f"backoff until {format_time(not_before)}",
                **common,
            )
        return self._action(spec, ActionKind.RETRY, reason, **common)

    def _store_wait(
        self, spec: ImportSpec, record: ImportRecord, common: dict[str, Any] | None = None
    ) -> Action | None:
        """A store that refused StartImport as not usable yet is tried again after a backoff
        (no attempt spent), for up to STORE_WAIT_LIMIT; then a person looks at it."""
        since = store_refused_since(record, STORE_NOT_USABLE)
        if since is None or spec.name in self.options.retry:
            return None
        common = {"import_id": record.import_id, **(common or {})}
        last = record.attempts[-1]
        if self.now - since >= STORE_WAIT_LIMIT:
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"the store has refused StartImport as not usable since {format_time(since)} "
                f"({last.code}); make it ENABLED or STOPPED_INGESTION, then run: "
                f"{self._retry_hint(spec)}",
                **common,
            )
        due = record.next_retry_at
        if due is None or self.now >= due:
            return None
        return self._action(
            spec,
            ActionKind.QUEUED,
            f"the store was not usable at {format_time(last.at)} ({last.code}); nothing "
            f"started, no attempt used; tries again after {format_time(due)}",
            blocked_by=f"backoff until {format_time(due)}",
            **{**common, "not_before": format_time(due)},
        )

    def _unresolved_start(self, spec: ImportSpec, record: ImportRecord) -> Action:
        """An intent without ImportId: the StartImport may or may not have reached AWS."""
        assert record.intent is not None
        since = record.intent.at
        # Any unmanaged import with this identity may be the one our StartImport made: no
        # time filter (a runner's clock ahead of AWS's must not hide it), and one that existed
        # before the start would have been adopted instead of started.
        matches = self._unclaimed_matches(spec.identity)
        found = self._adopt_the_one(
            spec,
            matches,
            f"an apply at {format_time(since)} started this import but stopped before "
            "recording its ImportId ({status}): adopt it, nothing starts",
            f"{len(matches)} imports with this identity appeared after the start at "
            f"{format_time(since)} ({{ids}}); pick one with import_id in the manifest",
        )
        if found is not None:
            return found
        if self.now - since < self.options.grace:
            until = format_time(since + self.options.grace)
            return self._action(
                spec,
                ActionKind.PENDING,
                f"a StartImport at {format_time(since)} has no answer recorded and no import "
                f"with this identity shows yet; waiting until {until} before starting again",
            )
        # Time alone proves nothing: only a store in which no unclaimed import appeared since
        # the start shows it never reached AWS. A candidate whose echoed fields differ from
        # what we sent (a store ID for the ARN, another trailing slash) may still be ours.
        candidates = self._start_candidates(spec, record)
        minutes = int(self.options.grace.total_seconds() // 60)
        if candidates:
            ids = ", ".join(c.import_id for c in candidates)
            first = candidates[0].import_id
            return self._action(
                spec,
                ActionKind.ATTENTION,
                f"the StartImport at {format_time(since)} has no answer recorded, and "
                f"{len(candidates)} import(s) appeared in this store since then that may be its "
                f"result ({ids}); if one is ours: reconcile state resolve {spec.name} --adopt "
                f"{first}; if none is, say so for each: reconcile state resolve {spec.name} "
                f"--not-ours {first}",
            )
        return self._guarded(
            spec,
            self._action(
                spec,
                ActionKind.CREATE,
                f"the StartImport at {format_time(since)} never reached AWS (no import that may be "
                f"its result appeared in this store in {minutes} minutes)",
            ),
        )

    def _start_candidates(self, spec: ImportSpec, record: ImportRecord) -> list[ObservedImport]:
        assert record.intent is not None
        after = record.intent.at - CLOCK_SKEW
        store = store_key(spec.destination)
        return [
            seen
            for seen in sorted(self.observed.imports.values(), key=lambda o: o.import_id)
            if seen.destination is not None
            and store_key(seen.destination) == store
            and seen.import_id not in self.managed_ids
            and seen.import_id not in self.claimed
            and seen.import_id not in record.not_ours
            and (seen.identity is None or self.wanted.get(seen.identity, spec.name) == spec.name)
            and (seen.created is None or seen.created >= after)
        ]

    def _identity_changed(self, spec: ImportSpec, record: ImportRecord) -> Action:
        changes = field_changes(
            {"identity": identity_document(record.identity)},
            {"identity": identity_document(spec.identity)},
        )
        if record.import_id:
            self.claimed.add(record.import_id)
        return self._replace_or_attention(
            spec,
            record,
            "identity changed; confirmed with --replace: a new import starts, the old "
            "import's events stay, and events in both ranges are stored twice",
            "identity changed (destination, source or range); a new import would store "
            f"overlapping events twice. Confirm with --replace {spec.name}, or revert the entry",
            changes,
        )

    def _vanished(self, spec: ImportSpec, record: ImportRecord) -> Action:
        return self._replace_or_attention(
            spec,
            record,
            f"import {record.import_id} no longer exists in AWS; confirmed with --replace: "
            "a new import starts",
            f"import {record.import_id} no longer exists in AWS; start a new one with "
            f"--replace {spec.name}, or remove the entry",
        )

    def _replace_or_attention(
        self,
        spec: ImportSpec,
        record: ImportRecord,
        confirmed: str,
        unconfirmed: str,
        changes: tuple[Change, ...] = (),
    ) -> Action:
        """A new import only when --replace confirms it, and never one that exists: an import
        that already has the new identity (made in the console, say) is adopted instead."""
        holders = self.holder_index.overlapping(spec.identity)
        if record.import_id and record.import_id not in self.observed.imports:
            vanished = holder_of_record(spec.name, record)  # its events may stay
            holders += overlapping(spec.identity, [vanished])
        if spec.name not in self.options.replace:
            findings: tuple[Finding, ...] = ()
            if holders and not spec.allow_overlap:
                unconfirmed += (
                    f" (a new import would store {events_at_stake(holders)} events twice: it "
                    f"needs allow_overlap: true on the entry as well as --replace {spec.name})"
                )
                findings = (overlap_finding(spec, holders, replacing=True),)
            return self._action(
                spec,
                ActionKind.ATTENTION,
                unconfirmed,
                import_id=record.import_id,
                changes=changes,
                findings=findings,
            )
        matches = self._unclaimed_matches(spec.identity)
        existing = self._adopt_the_one(
            spec,
            matches,
            "replacement confirmed, and an import with the new identity already exists "
            "({status}): adopt it, nothing starts",
            f"replacement confirmed, but {len(matches)} imports in AWS already have the new "
            "identity ({ids}); pick one with import_id in the manifest",
        )
        if existing is not None:
            return existing
        return self._guarded(
            spec,
            self._action(
                spec, ActionKind.REPLACE, confirmed, import_id=record.import_id, changes=changes
            ),
            replacing=True,
            holders=holders,
        )

    # -- records whose entries left the manifests ----------------------------------------

    def forgets(self) -> list[Action]:
        actions = []
        for name, record in self.orphans.items():
            if name in self.renamed_from:
                continue
            account, region = arn_parts(record.identity.destination)
            observed = self.observed.imports.get(record.import_id or "")
            status = observed.status if observed else record.status
            running = (
                " It is still running: --stop-removed would stop it."
                if observed and observed.ongoing
                else ""
            )
            actions.append(
                Action(
                    name=name,
                    action=ActionKind.FORGET,
                    reason=f"no longer in {record.manifest_file}; state forgets it, its events "
                    f"stay in the Lake ({status or 'never started'}).{running}",
                    account=account,
                    region=region,
                    destination=record.identity.destination,
                    import_id=record.import_id,
                    identity=view(record.identity),
                    attributes=record_document(record)["attributes"],
                    progress=progress_of(observed) if observed else None,
                )
            )
        return actions

    def unmanaged(self) -> list[UnmanagedImport]:
        return [
            UnmanagedImport(
                import_id=o.import_id,
                status=o.status,
                account=o.account,
                region=o.region,
                destination=o.destination,
                created=format_time(o.created) if o.created else None,
            )
            for o in sorted(
                self.observed.imports.values(), key=lambda o: (o.account, o.region, o.import_id)
            )
            if o.import_id not in self.managed_ids and o.import_id not in self.claimed
        ]


def plan(
    desired: Desired,
    state: StateDocument,
    observed: Observed,
    now: datetime,
    options: PlanOptions | None = None,
    preflight: Preflight | None = None,
) -> Plan:
    """The plan; with `preflight` (facts gathered for this plan's starts), its findings and
    estimates too, before queues are assigned (a start it stops holds no queue)."""
    options = options or PlanOptions()
    planner = _Planner(desired, state, observed, now, options)
    actions: list[Action] = []
    for spec in _in_order(desired.specs):
        if (options.targets and spec.name not in options.targets) or spec.name in options.settled:
            continue
        record = state.imports.get(spec.name)
        actions.append(
            planner.new_entry(spec) if record is None else planner.existing_entry(spec, record)
        )
    if not options.targets:  # --target never forgets anything
        actions.extend(planner.forgets())
    specs = {spec.name: spec for spec in desired.specs}
    actions = [_with_retries_left(a, specs.get(a.name), state) for a in actions]
    estimate = None
    if preflight is not None:
        actions, estimate = with_preflight(actions, preflight)
    if options.startable is not None:
        actions = [_held(a) if _beyond(a, options.startable) else a for a in actions]

    def key_of(account: str, region: str) -> QueueKey:
        return queue_key(account, region, queue_scope_of(account, options, desired.accounts))

    actions = assign_queues(actions, observed, key_of)
    basis = Basis(
        state_lineage=state.lineage or None,
        state_serial=state.serial,
        observed_fingerprint=observed.fingerprint(),
        observed_import_ids=tuple(sorted(observed.imports)),
        manifests=desired.manifests,
    )
    return Plan(
        basis=basis,
        actions=tuple(actions),
        unmanaged=tuple(planner.unmanaged()),
        created_at=format_time(now),
        estimate=estimate,
    )


def _with_retries_left(action: Action, spec: ImportSpec | None, state: StateDocument) -> Action:
    """A start says how many more StartImports its retry policy allows, should it fail: with
    --wait, apply may send them without another plan (DESIGN.md, "Apply safety")."""
    if action.action not in STARTING or spec is None:
        return action
    record = state.imports.get(action.name)
    used = 0 if record is None or action.action is ActionKind.REPLACE else record.starts
    if action.action is ActionKind.RETRY:
        used = max(used, 1)
    reason = action.reason
    if action.action is ActionKind.CREATE and record is not None and record.starts:
        # A reviewer sees what was spent already, and why the last start did not take.
        last = next((a for a in reversed(record.attempts) if a.error), None)
        why = (
            f"; last: {last.outcome.value} {last.at:%Y-%m-%dT%H:%MZ}, {last.error}" if last else ""
        )
        reason += f"; {record.starts} of {spec.retry.max_attempts} attempts used{why}"
    left = spec.retry.max_attempts - used - 1
    if left <= 0:
        return replace(action, reason=reason)
    times = "time" if left == 1 else "times"
    return replace(action, reason=f"{reason}; may retry up to {left} more {times}")


HELD = "the next run (not shown as starting in the approved plan)"


def _beyond(action: Action, startable: frozenset[str]) -> bool:
    return action.action in STARTING and action.name not in startable


def _held(action: Action) -> Action:
    """A start apply may not make: the plan that was approved did not show it (an import
    that finished FAILED during --wait, say). It waits for the next plan, which shows it."""
    return replace(
        action,
        action=ActionKind.QUEUED,
        reason=f"{action.reason}; not in this run: the approved plan did not show it starting",
        blocked_by=HELD,
    )


def _in_order(specs: Iterable[ImportSpec]) -> list[ImportSpec]:
    """Manifest file path, then position in the file (DESIGN.md, "Queues")."""
    return sorted(specs, key=lambda spec: (spec.location.file, spec.location.index))
