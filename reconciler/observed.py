"""What plan saw in AWS: imports per account and Region, as pure data (no boto3 here).

`ListImports` gives every import's ID, status and destination; `GetImport` adds the source,
time range, role and statistics. Observation calls GetImport only where it must, so an
`ObservedImport` may lack details (`detailed` is False); the planner never matches such an
import by identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from reconciler.spec import Identity

ONGOING = frozenset({"INITIALIZING", "IN_PROGRESS"})
FINISHED = frozenset({"COMPLETED", "FAILED", "STOPPED"})

Place = tuple[str, str]  # (account, Region)


@dataclass(frozen=True)
class Failure:
    location: str
    status: str
    error_type: str
    error_message: str
    last_updated: str | None = None


@dataclass(frozen=True)
class ObservedImport:
    import_id: str
    status: str
    account: str
    region: str
    destination: str | None
    created: datetime | None = None
    updated: datetime | None = None
    detailed: bool = False
    source_uri: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    bucket_region: str | None = None
    role_arn: str | None = None
    statistics: Mapping[str, int] | None = None
    failures: tuple[Failure, ...] = ()
    # Computed once: every plan asks each import for it, and apply plans before every start.
    identity: Identity | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identity = None
        if self.detailed and self.destination is not None and self.source_uri is not None:
            identity = Identity(self.destination, self.source_uri, self.start, self.end)
        object.__setattr__(self, "identity", identity)  # frozen: set once, here

    @property
    def ongoing(self) -> bool:
        return self.status in ONGOING


@dataclass(frozen=True)
class Observed:
    """Imports seen, by ImportId; which places were listed; and places that failed to list."""

    imports: Mapping[str, ObservedImport] = field(default_factory=lambda: MappingProxyType({}))
    places: frozenset[Place] = frozenset()
    errors: Mapping[Place, str] = field(default_factory=lambda: MappingProxyType({}))

    def fingerprint(self) -> str:
        """Changes only when imports appear or vanish, not when they progress (DESIGN.md)."""
        text = "\n".join(sorted(self.imports))
        return hashlib.sha256(text.encode()).hexdigest()
