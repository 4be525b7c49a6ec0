"""Whether a role's own policies grant an action on a resource: a reading, not IAM's verdict.

Pure: it is given the policy documents (inline and attached, as preflight read them) and
answers for one action and a few spellings of its resource. It knows Effect, Action and
NotAction, Resource and NotResource, and IAM's `*` and `?` wildcards (actions compared without
case, resources with). It does not know permission boundaries, SCPs, session policies or
resource policies, and does not evaluate conditions: a grant under a condition counts as a
grant. So its answer feeds a warning, never an error: a grant it cannot see may still exist,
while an explicit unconditional Deny, or no Allow at all, is worth saying before a task runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any


class Grant(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"  # an unconditional Deny matches
    ABSENT = "absent"  # no Allow matches


@lru_cache(maxsize=512)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _matches(patterns: Iterable[str], text: str, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).fullmatch(text) for p in patterns)


def _applies(statement: Mapping[str, Any], action: str, resources: Sequence[str]) -> bool:
    if "NotAction" in statement:
        acts = not _matches(_listed(statement["NotAction"]), action, True)
    else:
        acts = _matches(_listed(statement.get("Action")), action, True)
    if not acts:
        return False
    if "NotResource" in statement:
        excluded = _listed(statement["NotResource"])
        outside = [not _matches(excluded, resource, False) for resource in resources]
        # Spellings of one resource: an Allow is read leniently, a Deny strictly (a Deny
        # counts only when no spelling is excluded), so neither is claimed wrongly.
        return all(outside) if statement.get("Effect") == "Deny" else any(outside)
    return any(_matches(_listed(statement.get("Resource")), r, False) for r in resources)


def statements(documents: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Every statement of the documents (a document may hold one statement or a list)."""
    found: list[Mapping[str, Any]] = []
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        listed = document.get("Statement", [])
        for statement in listed if isinstance(listed, list) else [listed]:
            if isinstance(statement, Mapping):
                found.append(statement)
    return found


def grant(documents: Iterable[Any], action: str, resources: Sequence[str]) -> Grant:
    """What the documents say of `action` on any of `resources` (spellings of one resource:
    IAM writes some log-group ARNs with a `:*` suffix, some actions only take `*`)."""
    allowed = False
    for statement in statements(documents):
        if not _applies(statement, action, resources):
            continue
        if statement.get("Effect") == "Deny" and not statement.get("Condition"):
            return Grant.DENIED
        if statement.get("Effect") == "Allow":
            allowed = True
    return Grant.ALLOWED if allowed else Grant.ABSENT
