"""The words apply and state use for StartImport calls, as types rather than strings.

StrEnums: they are written to state and plan files as their plain values, and compare equal
to them, so documents written before these types existed read the same.
"""

from __future__ import annotations

from enum import StrEnum


class AttemptKind(StrEnum):
    """Why a StartImport was sent."""

    CREATE = "create"  # a new import
    RETRY = "retry"  # the same import again (ImportId only), after FAILED or STOPPED
    REPLACE = "replace"  # a new import for an entry whose identity changed (--replace)


class StartResult(StrEnum):
    """What a StartImport call told us (DESIGN.md, "Apply safety")."""

    STARTED = "started"  # we have the ImportId
    REFUSED = "refused"  # turned away before anything started: try again later
    REJECTED = "rejected"  # a request error: nothing started, trying again will not help
    UNKNOWN = "unknown"  # timeout, lost connection, 5xx: the import may or may not exist


class ApplyOutcome(StrEnum):
    """What apply did for an entry, as the summary counts it (the text says the details)."""

    NOTHING = "nothing to do"
    RECORDED = "recorded"  # state refreshed from what AWS reports
    ATTENTION = "needs attention"
    STARTED = "started"  # a new import, or a replacement
    RETRIED = "retried"
    ADOPTED = "adopted"
    RENAMED = "renamed"
    FORGOTTEN = "forgotten"
    STOPPED = "stopped"  # and forgotten (--stop-removed)
    NOT_STARTED = "not started"  # refused, or called off by the last look
    FAILED = "StartImport failed"
    UNKNOWN = "outcome unknown"
    STILL_WAITING = "still waiting"  # --wait-timeout came first


QUIET_OUTCOMES = frozenset({ApplyOutcome.NOTHING, ApplyOutcome.RECORDED, ApplyOutcome.ATTENTION})
