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
