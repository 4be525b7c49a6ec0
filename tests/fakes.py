"""An in-memory CloudTrail Lake behind the core's ports (reconciler/ports.py).

pip-tools' FakeRepository, for apply: no HTTP and no moto, so applier behaviour (queues across
accounts and Regions, refusals, unknown outcomes, retries, backoff) is tested as data in
milliseconds. The sandbox and the e2e suites stay the proof against the real wire.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reconciler.fields import arn_parts
from reconciler.observed import ONGOING, Failure, ObservedImport
from reconciler.outcomes import StartResult
from reconciler.ports import ONGOING_IMPORT, StartOutcome, StartRequest
from reconciler.spec import AccountAccess

_IDS = itertools.count(1)


def new_id() -> str:
    n = next(_IDS)
    return f"{n:08x}-0000-4000-8000-{n:012x}"


@dataclass
class FakeLake:
    """Imports by ID; what the next StartImport calls answer; one ongoing per account."""

    imports: dict[str, ObservedImport] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)  # next calls: an error code, or "lose"
    ongoing_scope: str = "account"
    finish_as: str = "IN_PROGRESS"  # the status a started import shows on the next look
    calls: list[StartRequest] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 10, tzinfo=UTC))

    # -- Connector ----------------------------------------------------------------------

    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None:
        pass

    def reader(self, account: str) -> FakeLake:
        return self

    def writer(self, account: str) -> FakeLake:
        return self

    def preflight(self, account: str) -> Any:
        raise AssertionError("apply asks preflight nothing: the plan it applies already did")

    def exports(self, account: str) -> Any:
        raise AssertionError("these tests have no exports: no CloudWatch Logs call is due")

    def export_writer(self, account: str) -> Any:
        raise AssertionError("these tests have no exports: no CloudWatch Logs call is due")

    # -- ImportReader -------------------------------------------------------------------

    def list_imports(self, region: str, destination: str | None = None) -> list[ObservedImport]:
        return [
            replace(found, detailed=False, source_uri=None, start=None, end=None)
            for found in self.imports.values()
            if found.region == region and destination in (None, found.destination)
        ]

    def get_import(self, region: str, import_id: str) -> ObservedImport:
        return self.imports[import_id]

    def list_failures(self, region: str, import_id: str, limit: int | None = None) -> list[Failure]:
        return []

    # -- Writer ---------------------------------------------------------------------------

    def start_import(self, request: StartRequest) -> StartOutcome:
        self.calls.append(request)
        answer = self.answers.pop(0) if self.answers else None
        if answer not in (None, "lose"):
            return StartOutcome(StartResult.REFUSED, code=answer, message="fake refusal")
        account, region = request.account, request.region
        if any(
            found.status in ONGOING
            and found.account == account
            and (self.ongoing_scope == "account" or found.region == region)
            for found in self.imports.values()
        ):
            return StartOutcome(StartResult.REFUSED, code=ONGOING_IMPORT, message="ongoing")
        if request.import_id:  # a retry: the same import runs again
            import_id = request.import_id
            self.imports[import_id] = replace(self.imports[import_id], status=self.finish_as)
        else:
            import_id = new_id()
            destination = request.destination or ""
            self.imports[import_id] = ObservedImport(
                import_id=import_id,
                status=self.finish_as,
                account=arn_parts(destination)[0],
                region=arn_parts(destination)[1],
                destination=destination,
                created=self.now,
                updated=self.now,
                detailed=True,
                source_uri=request.source_uri,
                start=request.start,
                end=request.end,
                bucket_region=request.bucket_region,
                role_arn=request.role_arn,
                statistics={"EventsCompleted": 0},
            )
        if answer == "lose":
            return StartOutcome(StartResult.UNKNOWN, code="ReadTimeoutError", message="lost")
        return StartOutcome(StartResult.STARTED, import_id=import_id, status="INITIALIZING")

    def stop_import(self, destination: str, import_id: str) -> str:
        self.imports[import_id] = replace(self.imports[import_id], status="STOPPED")
        return "STOPPED"

    # -- for the cases ----------------------------------------------------------------------

    def finish(self, status: str = "COMPLETED") -> None:
        for import_id, found in self.imports.items():
            if found.status in ONGOING:
                self.imports[import_id] = replace(found, status=status)
