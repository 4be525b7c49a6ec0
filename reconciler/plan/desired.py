"""What the planner is asked: the desired entries in scope, and the options of a run.

`Desired` is what the manifests say (with --shard, only some accounts); `Scope` says which
state records the run may touch (records from manifest files outside the given PATHS, or from
other shards' accounts, are left alone, never forgotten); `PlanOptions` carries --target,
--replace and the two clocks (--pending-grace, --retry-backoff).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconciler import defaults
from reconciler.exportspec import ExportSpec
from reconciler.fields import arn_parts
from reconciler.observed import ObservedImport
from reconciler.plan.types import ManifestHash
from reconciler.spec import AccountAccess, ImportSpec
from reconciler.state.document import ImportRecord

DEFAULT_GRACE = timedelta(seconds=defaults.PENDING_GRACE_SECONDS)
# An intent is written just before StartImport; AWS timestamps the import a moment later, but
# clocks differ, so an import created slightly "before" the intent still counts as its result.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Shard:
    """`--shard I/N`: the accounts whose stable hash falls in shard I of N (1-based)."""

    index: int
    count: int

    def owns(self, account: str) -> bool:
        digest = hashlib.sha256(account.encode()).hexdigest()
        return int(digest[:12], 16) % self.count == self.index - 1


def command_hint(paths: tuple[str, ...] | list[str], *options: str) -> str:
    """`reconcile apply [PATHS] OPTIONS`, as the person runs it: a hint must work as printed
    (the PATHS unless they are apply's default)."""
    shown = [] if tuple(paths) in (("manifests",), ("",), ()) else list(paths)
    return " ".join(["reconcile apply", *shown, *options])


@dataclass(frozen=True)
class Scope:
    """What the command covers: the manifest files it was given (records from other files
    are left alone) and, with --shard, only some accounts."""

    paths: tuple[str, ...]
    shard: Shard | None = None

    def owns(self, account: str) -> bool:
        return self.shard is None or self.shard.owns(account)

    def covers_record(self, record: ImportRecord) -> bool:
        account = arn_parts(record.identity.destination)[0]
        return self.owns(account) and self.covers(record.manifest_file)

    def covers(self, manifest_file: str) -> bool:
        for given in self.paths:
            base = given.rstrip("/")
            if manifest_file == base or manifest_file.startswith(base + "/") or base in ("", "."):
                return True
        return False


@dataclass(frozen=True)
class Desired:
    specs: tuple[ImportSpec, ...]
    scope: Scope
    manifests: tuple[ManifestHash, ...] = ()
    accounts: Mapping[str, AccountAccess] = field(default_factory=dict)
    exports: tuple[ExportSpec, ...] = ()  # CloudWatch Logs import tasks (plan/exports.py)


DEFAULT_RETRY_BACKOFF = timedelta(seconds=defaults.RETRY_BACKOFF_SECONDS)
MAX_RETRY_BACKOFF = timedelta(seconds=defaults.MAX_RETRY_BACKOFF_SECONDS)
# A store not usable yet (being created, say) is tried again with backoff for this long, then
# it needs a person: it is no longer a store that is about to be ready.
STORE_WAIT_LIMIT = timedelta(seconds=defaults.STORE_WAIT_LIMIT_SECONDS)
QUEUE_SCOPES = ("account", "region")
DEFAULT_QUEUE_SCOPE = defaults.QUEUE_SCOPE


@dataclass(frozen=True)
class PlanOptions:
    targets: frozenset[str] = frozenset()  # empty: every entry
    replace: frozenset[str] = frozenset()  # names whose replacement is confirmed
    grace: timedelta = DEFAULT_GRACE
    retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF  # doubles per attempt, at most an hour
    retry: frozenset[str] = frozenset()  # --retry: the person says the cause of failure is fixed
    queue_scope: str = DEFAULT_QUEUE_SCOPE  # "account" | "region"; accounts: may override
    # During apply: only entries the shown plan said may start (None: any). Others that would
    # start now wait for the next run, which shows them first (DESIGN.md, "Apply safety").
    startable: frozenset[str] | None = None
    # During apply's re-plans: entries the shown plan found COMPLETED with nothing to do. They
    # stay desired (never forgotten or renamed from, their records still claim their imports
    # and their imports still hold events) but get no action: a re-plan before each start
    # costs what is still moving, not every finished import of the store.
    settled: frozenset[str] = frozenset()


def queue_scope_of(
    account: str, options: PlanOptions, accounts: Mapping[str, AccountAccess]
) -> str:
    access = accounts.get(account)
    return (access.queue_scope if access else None) or options.queue_scope


def queue_key(account: str, region: str, scope: str) -> tuple[str, str]:
    """The queue an import waits in: (account, "") per account, (account, Region) per Region."""
    return (account, region if scope == "region" else "")


def store_refused_since(record: ImportRecord, codes: frozenset[str]) -> datetime | None:
    """When the trailing run of StartImport refusals for a store not usable yet began."""
    since = None
    for attempt in reversed(record.attempts):
        if attempt.outcome != "refused" or attempt.code not in codes:
            break
        since = attempt.at
    return since


def store_backoff(record: ImportRecord, codes: frozenset[str], backoff: timedelta) -> timedelta:
    """The wait before trying a store that refused again: doubling per refusal in a row."""
    run = 0
    for attempt in reversed(record.attempts):
        if attempt.outcome != "refused" or attempt.code not in codes:
            break
        run += 1
    doubled: timedelta = backoff * (1 << min(max(run - 1, 0), 16))
    return min(doubled, MAX_RETRY_BACKOFF)


def retry_not_before(
    record: ImportRecord, observed: ObservedImport, backoff: timedelta
) -> datetime | None:
    """When a FAILED/STOPPED import may be retried: its failure time plus a backoff that
    doubles with each attempt (never before a time apply recorded)."""
    wait = min(backoff * (2 ** max(record.starts - 1, 0)), MAX_RETRY_BACKOFF)
    anchor = observed.updated
    candidates = [t for t in (anchor + wait if anchor else None, record.next_retry_at) if t]
    return max(candidates) if candidates else None
