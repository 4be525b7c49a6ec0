"""What preflight found, added to the planner's actions (pure: the facts were gathered before).

An `error` finding makes a start `attention` (DESIGN.md, "Preflight"); the run's estimate is
the total of the starts that remain, and a total above `--max-cost` stops every one of them
(`over-budget`): a budget is for the whole run, so no start is picked to fit under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.findings import NO_ESTIMATE, Estimate, Evidence, Finding, Severity
from reconciler.plan.types import Action, ActionKind
from reconciler.preflight import codes

# Actions that would start an import, now or later in the run: what preflight looks at.
# PENDING too: once its unanswered StartImport is settled as never sent, apply may start it.
PREFLIGHTED = frozenset(
    {ActionKind.CREATE, ActionKind.RETRY, ActionKind.REPLACE, ActionKind.QUEUED, ActionKind.PENDING}
)


@dataclass(frozen=True)
class Preflight:
    evidence: Mapping[str, Evidence]
    max_cost: float | None = None  # USD for the whole run; None: no budget


def with_preflight(
    actions: Sequence[Action], preflight: Preflight
) -> tuple[list[Action], Estimate]:
    """The actions with their findings and estimates, and the total of those still starting."""
    found = [attach(action, preflight.evidence.get(action.name)) for action in actions]
    total = _total(found)
    budget = preflight.max_cost
    if budget is None:
        return found, total
    if total.cost_usd > budget:
        over = _over_budget(total, budget)
        return [_held(a, over) if _starts(a) else a for a in found], total
    # A start whose cost is unknown (its files could not be listed) cannot fit a budget.
    return [_held(a, _unknown(budget)) if _unpriced(a) else a for a in found], total


def startable(action: Action) -> bool:
    """Whether apply may start this shown action: not with an error finding standing."""
    return not any(f.severity is Severity.ERROR for f in action.findings)


def _starts(action: Action) -> bool:
    return action.action in PREFLIGHTED and action.estimate is not None


def _unpriced(action: Action) -> bool:
    return action.action in PREFLIGHTED and action.estimate is None


def _held(action: Action, finding: Finding) -> Action:
    if action.action is ActionKind.PENDING:  # keeps its queue, as above
        return replace(action, findings=(*action.findings, finding))
    return _stopped(action, (finding,))


def _total(actions: Sequence[Action]) -> Estimate:
    total = NO_ESTIMATE
    for action in actions:
        if _starts(action) and action.estimate is not None:
            total = total + action.estimate
    return total


def attach(action: Action, evidence: Evidence | None) -> Action:
    """One action with what preflight found for it; an error stops a start (`attention`)."""
    if evidence is None or action.action not in PREFLIGHTED:
        return action
    action = replace(
        action, findings=(*action.findings, *evidence.findings), estimate=evidence.estimate
    )
    errors = tuple(f for f in evidence.findings if f.severity is Severity.ERROR)
    if errors and action.action is ActionKind.PENDING:
        # It keeps its queue (its StartImport may have reached AWS); apply will not start it
        # should it turn out never sent (apply starts no action with an error finding).
        names = ", ".join(sorted({f.code for f in errors}))
        return replace(
            action,
            reason=f"{action.reason}; if never sent, preflight's {names} "
            "keeps it from starting in this run",
        )
    return _stopped(action, errors) if errors else action


_WOULD = {
    ActionKind.QUEUED: "start in its turn",
    ActionKind.PENDING: "start once its unanswered StartImport is settled",
}


def _stopped(action: Action, errors: tuple[Finding, ...]) -> Action:
    """A start preflight will not let go: `attention`, saying what it would have done."""
    found = sorted({finding.code for finding in errors})
    names = ", ".join(found)
    way = (
        "fix it, or list the code under preflight.ignore on the entry"
        if codes.IGNORABLE.issuperset(found) and action.kind == "import"
        else "see the fix"
    )
    findings = (
        action.findings
        if all(f in action.findings for f in errors)
        else (*action.findings, *errors)
    )
    would = _WOULD.get(action.action, action.action.value)
    return replace(
        action,
        action=ActionKind.ATTENTION,
        reason=f"would {would}, but preflight found {names} (see the findings); {way}",
        findings=findings,
        queue_position=None,
        blocked_by=None,
    )


def _unknown(budget: float) -> Finding:
    return Finding(
        code=codes.OVER_BUDGET,
        severity=Severity.ERROR,
        message=f"its cost could not be estimated (see the preflight warning), so it cannot be "
        f"held to the budget of ${budget:,.2f} (--max-cost / RECONCILE_MAX_COST)",
        fix="Grant the listing permission preflight names, or run without --max-cost.",
    )


def _over_budget(total: Estimate, budget: float) -> Finding:
    return Finding(
        code=codes.OVER_BUDGET,
        severity=Severity.ERROR,
        message=f"the run's starts would cost about ${total.cost_usd:,.2f} "
        f"({total.uncompressed_bytes / 2**30:,.1f} GB uncompressed), above the budget of "
        f"${budget:,.2f} (--max-cost / RECONCILE_MAX_COST)",
        fix="Raise --max-cost, or start fewer imports per run (--target NAME).",
    )
