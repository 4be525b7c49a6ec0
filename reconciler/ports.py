"""How the core reaches AWS: per account, a reader (plan) and a writer (apply), and the
plain values they exchange. The core depends on these; `reconciler.aws` implements them
(`aws.accounts.Connections`), and tests may pass fakes. The core never builds clients itself,
so it never imports boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reconciler.observed import Failure, ObservedImport
from reconciler.outcomes import StartResult
from reconciler.spec import AccountAccess

# Errors that prove the request was turned away before any work: safe to send again later.
THROTTLING = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
ONGOING_IMPORT = "AccountHasOngoingImportException"


@dataclass(frozen=True)
class StartOutcome:
    kind: StartResult
    import_id: str | None = None
    status: str | None = None
    code: str | None = None
    message: str | None = None

    @property
    def throttled(self) -> bool:
        return self.kind is StartResult.REFUSED and self.code in THROTTLING

    def describe(self) -> str:
        if self.kind is StartResult.STARTED:
            return f"started {self.import_id} ({self.status})"
        return f"{self.kind.value}: {self.code}: {self.message}"


@dataclass(frozen=True)
class StartRequest:
    """What StartImport needs: a new import (all fields) or a retry (import_id only)."""

    region: str
    account: str = ""  # whose credentials send it
    import_id: str | None = None
    destination: str | None = None
    source_uri: str | None = None
    bucket_region: str | None = None
    role_arn: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class ImportReader(Protocol):
    """The read calls plan, apply's last look and adopt make (ListImports, GetImport,
    ListImportFailures), answered as plain values."""

    def list_imports(self, region: str, destination: str | None = None) -> list[ObservedImport]: ...
    def get_import(self, region: str, import_id: str) -> ObservedImport: ...
    def list_failures(
        self, region: str, import_id: str, limit: int | None = None
    ) -> list[Failure]: ...


class Writer(Protocol):
    def start_import(self, request: StartRequest) -> StartOutcome: ...
    def stop_import(self, destination: str, import_id: str) -> str: ...


class Connector(Protocol):
    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None: ...
    def reader(self, account: str) -> ImportReader: ...
    def writer(self, account: str) -> Writer: ...
