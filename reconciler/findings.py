"""What preflight and the planner tell a reviewer about an action: findings and estimates.

Plain values shared by `plan` (which shows them and turns errors into `attention`) and
`preflight` (which finds them); `reconciler.plan.types` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"  # makes the action `attention`
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """A fact about an action a reviewer must see (DESIGN.md, "Preflight (Pinned keys)").

    `code` is stable (README lists every one); an `error` makes the action `attention`."""

    code: str
    severity: Severity
    message: str
    fix: str


@dataclass(frozen=True)
class Estimate:
    """What a start would ingest and cost (DESIGN.md, "Preflight (Pinned keys)"): `files` and
    `bytes` are exact for the prefixes listed; `uncompressed_bytes` and `cost_usd` estimate."""

    files: int
    bytes: int
    uncompressed_bytes: int
    cost_usd: float

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            self.files + other.files,
            self.bytes + other.bytes,
            self.uncompressed_bytes + other.uncompressed_bytes,
            round(self.cost_usd + other.cost_usd, 6),
        )


NO_ESTIMATE = Estimate(0, 0, 0, 0.0)


@dataclass(frozen=True)
class Evidence:
    """What preflight found for one entry: its findings, and what its start would ingest
    (None when the log files could not be listed)."""

    findings: tuple[Finding, ...]
    estimate: Estimate | None
