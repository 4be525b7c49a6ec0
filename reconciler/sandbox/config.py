"""The sandbox's tunables, one object per process (moto's backends are process-global too).

`start_sandbox` sets it; tests change it through POST /_reconcile/config.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class SandboxConfig:
    speed: float = 20.0  # files an import completes per second of wall-clock time
    init_seconds: float = 1.0  # how long a (re)started import stays INITIALIZING
    latency_ms: float = 0.0  # delay before every CloudTrail call
    throttle: float = 0.0  # fraction of CloudTrail calls answered with ThrottlingException
    lose_start_responses: float = 0.0  # fraction of StartImport calls answered with HTTP 500
    fault_seed: int | None = None  # makes the fault choices repeatable

    def update(self, changes: dict[str, Any]) -> None:
        """Apply known keys (from JSON); unknown keys are a caller error."""
        known = {field.name for field in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown sandbox settings: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)
        if self.speed <= 0:
            raise ValueError("speed must be > 0 files per second")

    def as_dict(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


CONFIG = SandboxConfig()
