"""How the core reaches AWS: per account, a reader (plan) and a writer (apply), and the
plain values they exchange. The core depends on these; `reconciler.aws` implements them
(`aws.accounts.Connections`), and tests may pass fakes. The core never builds clients itself,
so it never imports boto3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from reconciler.observed import Failure, ObservedImport
from reconciler.observed_exports import ObservedBatch, ObservedExport
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


# -- preflight: what the store, the bucket and the role say (reconciler.preflight) --------


class NotFound(Exception):
    """AWS said the thing does not exist (NoSuchBucket, NoSuchEntity, EventDataStoreNotFound)."""


class Unreadable(Exception):
    """AWS would not say: no permission (`permission` names it), throttled, or unreachable.
    Never a "not found": preflight reports it as a warning and carries on."""

    def __init__(self, message: str, *, permission: str | None = None) -> None:
        super().__init__(message)
        self.permission = permission


@dataclass(frozen=True)
class StoreFacts:
    arn: str
    status: str
    holds_trail_events: bool
    retention_days: int | None
    created: datetime | None
    organization: bool
    kms_key_id: str | None
    billing_mode: str | None


@dataclass(frozen=True)
class BucketFacts:
    name: str
    region: str
    # GetBucketOwnershipControls' rule, or None when the bucket has no ownership controls
    # (ACLs enabled, as on buckets made before April 2023).
    object_ownership: str | None
    ownership_unreadable: Unreadable | None = None  # GetBucketOwnershipControls refused


@dataclass(frozen=True)
class RoleFacts:
    arn: str
    trusts_cloudtrail: bool
    # aws:SourceArn values the CloudTrail trust statements are conditioned on ([] = none).
    source_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class RolePolicies:
    """A role's own permission policies: inline ones and the attached managed ones' default
    versions, as JSON documents, with their names (for messages)."""

    names: tuple[str, ...]
    documents: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    storage_class: str


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page: objects, and the child prefixes when listed with a delimiter."""

    objects: tuple[S3Object, ...]
    prefixes: tuple[str, ...] = ()


class PreflightReader(Protocol):
    """The read calls preflight makes (GetEventDataStore, S3, IAM, Organizations), answered as
    the plain values above. Each raises `Unreadable` when AWS would not
    say (no permission, throttled, unreachable), and `NotFound` when AWS says it does not exist."""

    def event_data_store(self, region: str, arn: str) -> StoreFacts: ...
    def bucket(self, name: str) -> BucketFacts: ...
    def role(self, arn: str) -> RoleFacts: ...
    def role_policies(self, arn: str) -> RolePolicies: ...
    def management_account(self) -> str | None: ...
    def list_objects(
        self, bucket: str, region: str, prefix: str, *, delimiter: bool, start_after: str | None
    ) -> Iterator[ListPage]: ...


class ExportReader(Protocol):
    """CloudWatch Logs import-task reads of one account (DescribeImportTasks and
    DescribeImportTaskBatches, every page)."""

    def list_tasks(self, region: str, source: str | None = None) -> list[ObservedExport]: ...
    def batches(self, region: str, import_id: str) -> tuple[ObservedBatch, ...]: ...
    def events_per_day(
        self, region: str, log_group: str, start: datetime | None, end: datetime | None
    ) -> dict[str, int]: ...


class ExportWriter(Protocol):
    """CreateImportTask (never retried) and CancelImportTask of one account."""

    def create_task(
        self, region: str, source: str, role_arn: str, start: datetime | None,
        end: datetime | None,
    ) -> StartOutcome: ...  # fmt: skip
    def cancel_task(self, region: str, import_id: str) -> str: ...


class Connector(Protocol):
    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None: ...
    def reader(self, account: str) -> ImportReader: ...
    def writer(self, account: str) -> Writer: ...
    def preflight(self, account: str) -> PreflightReader: ...
    def exports(self, account: str) -> ExportReader: ...
    def export_writer(self, account: str) -> ExportWriter: ...
