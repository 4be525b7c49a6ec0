"""`reconcile validate --online`: preflight's findings for every entry, as text and JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.findings import NO_ESTIMATE, Estimate, Evidence, Severity
from reconciler.spec import ImportSpec


@dataclass(frozen=True)
class OnlineCheck:
    specs: tuple[ImportSpec, ...]
    evidence: Mapping[str, Evidence]

    def count(self, severity: Severity) -> int:
        return sum(
            1 for found in self.evidence.values() for f in found.findings if f.severity is severity
        )

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def total(self) -> Estimate:
        total = NO_ESTIMATE
        for found in self.evidence.values():
            if found.estimate is not None:
                total = total + found.estimate
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": [
                {
                    "name": spec.name,
                    "manifest": spec.location.describe(),
                    "findings": [
                        {**asdict(f), "severity": f.severity.value}
                        for f in self.evidence[spec.name].findings
                    ],
                    "estimate": _estimate(self.evidence[spec.name].estimate),
                }
                for spec in self.specs
            ],
            "errors": self.errors,
            "warnings": self.count(Severity.WARNING),
            "estimate": asdict(self.total),
        }


def _estimate(estimate: Estimate | None) -> dict[str, Any] | None:
    return asdict(estimate) if estimate else None
