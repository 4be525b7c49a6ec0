"""`reconcile plan` as one core function: load, read state, observe, diff.

Plan never writes state and takes no lock (DESIGN.md, "State"); it reads AWS only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.errors import ManifestError, UsageError
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
from reconciler.plan.observe import observe, reachable
from reconciler.plan.planner import plan
from reconciler.plan.saved import SavedPlan
from reconciler.plan.types import ManifestHash
from reconciler.ports import Connector
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

    def options(self) -> PlanOptions:
        return PlanOptions(
            targets=frozenset(self.targets),
            replace=frozenset(self.replace),
            retry_backoff=self.retry_backoff,
            grace=self.grace,
            retry=frozenset(self.retry),
            queue_scope=self.queue_scope,
        )


def load_desired(paths: Sequence[str], shard: Shard | None = None) -> tuple[Desired, LoadResult]:
    """Manifests in PATHS as the planner's input; any manifest problem stops here.

    With a shard, only the entries of its accounts are desired, and only its accounts'
    records are in scope (the other shards' runs own the rest).
    """
    loaded = load_manifests(paths)
    if loaded.problems:
        raise ManifestError(list(loaded.problems))
    scope = Scope(tuple(paths), shard)
    desired = Desired(
        specs=tuple(spec for spec in loaded.imports if scope.owns(spec.account)),
        scope=scope,
        manifests=tuple(ManifestHash(f.path, f.sha256) for f in loaded.files),
        accounts=dict(loaded.accounts),
    )
    return desired, loaded


def _check_names(desired: Desired, request: PlanRequest) -> None:
    known = {spec.name for spec in desired.specs}
    named = (
        ("--target", request.targets),
        ("--replace", request.replace),
        ("--retry", request.retry),
    )
    for option, names in named:
        unknown = sorted(set(names) - known)
        if unknown:
            raise UsageError(
                f"{option} {', '.join(unknown)}: no manifest entry in "
                f"{', '.join(desired.scope.paths)} has that name."
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
    desired, _ = load_desired(request.paths, request.shard)
    _check_names(desired, request)
    connector.use_accounts(desired.accounts)
    observed = reachable(observe(connector.reader, desired, state))
    result = plan(desired, state, observed, now or datetime.now(UTC), request.options())
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
    )
    return saved, observed
