"""The last look at a store, after the intent is written and right before StartImport.

An import started by hand or by another pipeline between apply's plan and its StartImport
would be duplicated: StartImport has no client token. So once the intent is on disk, apply
lists the destination store again (ListImports with its `Destination` filter, every page),
describes only the ImportIds it has not seen (GetImport, or the state's cache of finished
foreign imports), and asks the same pure planner again. Only if the verdict is unchanged does
the start go out, right after the last listing; the window left is one ListImports answer to
one StartImport request (DESIGN.md, "Apply safety").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType

from reconciler.observed import ONGOING, Observed, ObservedImport
from reconciler.plan.observe import cached
from reconciler.plan.types import Action, Plan
from reconciler.ports import ImportReader
from reconciler.spec import ImportSpec
from reconciler.state.document import StateDocument

# New imports found on one look lead to another, so the start follows a listing that showed
# nothing new; a store this busy after that many looks is left for the next run.
LOOKS = 3


@dataclass(frozen=True)
class Verdict:
    changed: bool  # the start is called off: plan again
    reason: str
    answered_at: float  # time.monotonic() of the last ListImports answer
    seen: Observed  # the observation with the store as the last look found it


def _changed(listed: ObservedImport, known: ObservedImport | None) -> bool:
    """New, or no longer as it was (a FAILED import someone retried now runs, and may come to
    hold events): either way, describe it and decide again."""
    if known is None:
        return True
    if listed.status != known.status:
        return True
    if listed.updated == known.updated:  # the common case, read without truncating
        return False
    seconds = [t.replace(microsecond=0) if t else None for t in (listed.updated, known.updated)]
    return seconds[0] != seconds[1] and listed.status not in ONGOING


def look_again(
    reader: ImportReader,
    spec: ImportSpec,
    action: Action,
    replan: Callable[[Observed], Plan],
    observed: Observed,
    basis: StateDocument,
) -> Verdict:
    """Whether the store still looks as it did when `action` was planned from `observed`."""
    known: dict[str, ObservedImport] = dict(observed.imports)
    answered = time.monotonic()
    seen = observed
    for _ in range(LOOKS):
        listed = reader.list_imports(spec.region, destination=spec.destination)
        answered = time.monotonic()
        fresh = [item for item in listed if _changed(item, known.get(item.import_id))]
        if not fresh:
            return Verdict(False, "", answered, seen)
        for item in fresh:
            known[item.import_id] = cached(item, basis) or reader.get_import(
                spec.region, item.import_id
            )
        seen = replace(observed, imports=MappingProxyType(dict(known)))
        again = next((a for a in replan(seen).actions if a.name == spec.name), None)
        if again is None or again.action is not action.action:
            ids = ", ".join(item.import_id for item in fresh)
            now = again.action.value if again else "not planned"
            return Verdict(
                True,
                f"{len(fresh)} import(s) appeared in the store right before the start ({ids}); "
                f"the entry is now {now}",
                answered,
                seen,
            )
    return Verdict(True, f"imports kept appearing in the store ({LOOKS} looks)", answered, seen)
