"""What apply is given and what it returns: options, events for the watcher, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reconciler import defaults
from reconciler.outcomes import ApplyOutcome
from reconciler.plan.desired import PlanOptions
from reconciler.plan.types import Plan, Progress


class ApplyEvents(Protocol):
    """What apply tells the person watching (the CLI draws it; the core only reports)."""

    def message(self, name: str | None, text: str, *, error: bool = False) -> None: ...
    def progress(self, name: str, progress: Progress) -> None: ...


class SilentEvents:
    def message(self, name: str | None, text: str, *, error: bool = False) -> None:
        pass

    def progress(self, name: str, progress: Progress) -> None:
        pass


@dataclass(frozen=True)
class ApplyOptions:
    wait: bool = False
    wait_timeout: float | None = None  # seconds; None waits as long as it takes
    stop_removed: bool = False
    poll_interval: float = defaults.POLL_INTERVAL_SECONDS
    throttle_retries: int = defaults.THROTTLE_RETRIES
    throttle_backoff: float = defaults.THROTTLE_BACKOFF_SECONDS  # doubling per throttled try
    parallelism: int = defaults.PARALLELISM
    plan_options: PlanOptions = field(default_factory=PlanOptions)


@dataclass
class ApplyResult:
    plan: Plan  # the plan that was shown, each action with its outcome
    errors: list[str]
    attention: set[str]
    timed_out: bool = False
    interrupted: bool = False
    # Per StartImport sent: seconds from the last ListImports answer to the request (the
    # window in which an import started elsewhere could still be duplicated).
    start_gaps: list[float] = field(default_factory=list)
    kinds: dict[str, ApplyOutcome] = field(default_factory=dict)  # what the summary counts
