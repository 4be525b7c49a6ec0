"""Queues: one per account by default (or per account and Region), in plan order.

AWS runs one import at a time per account (its own wording; some accounts may allow one per
Region, hence `--queue-scope region` and an account's `queue_scope: region`). So of the actions
that would start an import (create, retry, replace) only the first of each queue may start,
and only when nothing runs there already (an import of ours or anyone's, or an unanswered
StartImport). The others become `queued`, with their position and what they wait behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from reconciler.observed import Observed
from reconciler.plan.types import STARTING, Action, ActionKind

QueueKey = tuple[str, str]  # (account, Region or "" for the whole account)


def queue_label(key: QueueKey) -> str:
    return f"{key[0]}/{key[1]}" if key[1] else f"account {key[0]}"


def assign_queues(
    actions: Sequence[Action], observed: Observed, key_of: Callable[[str, str], QueueKey]
) -> list[Action]:
    """At most one start per queue, and none while one runs there; `key_of(account, region)`
    says which queue a place belongs to."""
    blockers: dict[QueueKey, str] = {}
    names_by_id = {a.import_id: a.name for a in actions if a.import_id}
    for seen in sorted(observed.imports.values(), key=lambda o: o.import_id):
        if seen.ongoing:
            key = key_of(seen.account, seen.region)
            blockers.setdefault(key, names_by_id.get(seen.import_id, seen.import_id))
    for action in actions:
        if action.action is ActionKind.PENDING:
            blockers.setdefault(key_of(action.account, action.region), action.name)
    positions: dict[QueueKey, int] = defaultdict(int)
    result = []
    for action in actions:
        key = key_of(action.account, action.region)
        if action.action not in STARTING:
            result.append(action)
            continue
        if key not in blockers:
            blockers[key] = action.name
            result.append(action)
            continue
        positions[key] += 1
        result.append(
            replace(
                action,
                action=ActionKind.QUEUED,
                reason=f"{action.reason}; the {action.action.value} waits behind "
                f"{blockers[key]} (one import at a time in {queue_label(key)})",
                queue_position=positions[key],
                blocked_by=blockers[key],
            )
        )
    return result
