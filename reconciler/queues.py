"""Queues: one per account and Region, in plan order (manifest path, then position).

AWS runs one import at a time per account, so of the actions that would start an import
(create, retry, replace) only the first of each place may start, and only when nothing runs
there already (an import of ours or anyone's, or an unanswered StartImport). The others become
`queued`, with their position and what they wait behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from reconciler.observed import Observed, Place
from reconciler.plan import STARTING, Action, ActionKind


def assign_queues(actions: Sequence[Action], observed: Observed) -> list[Action]:
    """One queue per account and Region: at most one start, and none while one runs."""
    blockers: dict[Place, str] = {}
    names_by_id = {a.import_id: a.name for a in actions if a.import_id}
    for seen in sorted(observed.imports.values(), key=lambda o: o.import_id):
        if seen.ongoing:
            place = (seen.account, seen.region)
            blockers.setdefault(place, names_by_id.get(seen.import_id, seen.import_id))
    for action in actions:
        if action.action is ActionKind.PENDING:
            blockers.setdefault((action.account, action.region), action.name)
    positions: dict[Place, int] = defaultdict(int)
    result = []
    for action in actions:
        place = (action.account, action.region)
        if action.action not in STARTING:
            result.append(action)
            continue
        if place not in blockers:
            blockers[place] = action.name
            result.append(action)
            continue
        positions[place] += 1
        result.append(
            replace(
                action,
                action=ActionKind.QUEUED,
                reason=f"{action.reason}; the {action.action.value} waits behind "
                f"{blockers[place]} (one import at a time in {place[0]}/{place[1]})",
                queue_position=positions[place],
                blocked_by=blockers[place],
            )
        )
    return result
