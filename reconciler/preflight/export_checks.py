"""Preflight for exports: what the store and the role say before CreateImportTask is sent.

The range must lie inside the store's retention and not before 2023 (AWS's migration guide);
the store must be ENABLED or STOPPED_INGESTION; the role must exist and trust
cloudtrail.amazonaws.com; a store with a KMS key needs kms:Decrypt and kms:GenerateDataKey.
The role's own policies are read where they can be, for the permissions AWS documents for the
task (a warning when none grants one: policies can grant in ways a reading cannot see).
Answers AWS would not give become warnings, never guesses. Facts come through the same
`PreflightReader` port imports use, each asked once per store and role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from reconciler.exportspec import ExportSpec, log_group_arn
from reconciler.fields import format_time_ms
from reconciler.findings import Finding, Severity
from reconciler.ports import (
    NotFound,
    PreflightReader,
    RoleFacts,
    RolePolicies,
    StoreFacts,
    Unreadable,
)
from reconciler.preflight import codes
from reconciler.preflight.checks import unreadable
from reconciler.preflight.gather import Answer, _ask
from reconciler.preflight.policy_grants import Grant, grant

T = TypeVar("T")
EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
EXPORTABLE = ("ENABLED", "STOPPED_INGESTION")


# What AWS documents the import role needs (CreateImportTask), besides KMS for a keyed store.
LOGS_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutResourcePolicy")


def export_findings(
    spec: ExportSpec,
    store: Answer[StoreFacts],
    role: Answer[RoleFacts] | None,
    now: datetime,
    policies: Answer[RolePolicies] | None = None,
) -> list[Finding]:
    """Pure: the findings for one export from the answers about its store and role (`role`
    None: the entry names none, being pinned to an existing task; `policies` None: not
    read, the role being missing or untrusted already)."""
    found: list[Finding] = []
    if spec.start is not None and spec.start < EARLIEST:
        found.append(
            Finding(
                codes.EXPORT_BEFORE_2023,
                Severity.ERROR,
                f"the range starts at {format_time_ms(spec.start)}, before 2023: AWS does not "
                "export data from before 2023",
                "Start the export at 2023-01-01T00:00:00Z (start_event_time).",
            )
        )
    found += _store(spec, store, now)
    if role is not None:
        found += _role(spec, role)
    if policies is not None:
        found += _permissions(spec, policies)
    return found


def _permissions(spec: ExportSpec, policies: Answer[RolePolicies]) -> list[Finding]:
    if isinstance(policies, Unreadable):
        return [unreadable(f"the policies of the role {spec.role_arn}", policies)]
    if isinstance(policies, NotFound):
        return []  # the role vanished between two reads: the next plan says so
    group = log_group_arn(spec.source)
    # Each action against its own resource, in the spellings IAM may match: a log group's
    # ARN is written with and without `:*`, a stream's under it; PutResourcePolicy takes no
    # resource but `*`.
    wanted = [
        ("cloudtrail:GetEventDataStoreData", [spec.source]),
        ("logs:CreateLogGroup", [group, f"{group}:*"]),
        ("logs:CreateLogStream", [f"{group}:*", f"{group}:log-stream:*"]),
        ("logs:PutResourcePolicy", ["*"]),
    ]
    absent, denied = [], []
    for action, resources in wanted:
        verdict = grant(policies.documents, action, resources)
        if verdict is Grant.DENIED:
            denied.append(action)
        elif verdict is Grant.ABSENT:
            absent.append(action)
    if not absent and not denied:
        return []
    read = ", ".join(policies.names) if policies.names else "none"
    said = []
    if absent:
        said.append(f"grant no {', '.join(absent)}")
    if denied:
        said.append(f"deny {', '.join(denied)}")
    return [
        Finding(
            codes.EXPORT_ROLE_PERMISSIONS,
            Severity.WARNING,
            f"the policies of {spec.role_arn} ({read}) {' and '.join(said)} for this export; "
            "the task would start and then fail. (Only the role's own policies were read.)",
            f"Allow the role cloudtrail:GetEventDataStoreData on {spec.source} and "
            f'{", ".join(LOGS_ACTIONS)} on {group}:* (PutResourcePolicy on "*").',
        )
    ]


def _store(spec: ExportSpec, store: Answer[StoreFacts], now: datetime) -> list[Finding]:
    if isinstance(store, Unreadable):
        return [unreadable(f"the event data store {spec.source}", store)]
    if isinstance(store, NotFound):
        return [
            Finding(
                codes.STORE_NOT_FOUND,
                Severity.ERROR,
                f"no event data store {spec.source} in account {spec.account}, Region "
                f"{spec.region} ({store})",
                "Check the source ARN (aws cloudtrail list-event-data-stores).",
            )
        ]
    found = []
    if store.status not in EXPORTABLE:
        found.append(
            Finding(
                codes.EXPORT_STORE_NOT_READY,
                Severity.ERROR,
                f"the store is {store.status}; an import task reads only from a store that is "
                f"{' or '.join(EXPORTABLE)}",
                "Wait for the store to settle (or stop its deletion), then plan again.",
            )
        )
    if store.retention_days is not None and spec.start is not None:
        oldest = now - timedelta(days=store.retention_days)
        if spec.start < oldest:
            found.append(
                Finding(
                    codes.EXPORT_OUTSIDE_RETENTION,
                    Severity.ERROR,
                    f"the range starts at {format_time_ms(spec.start)}, before the oldest event "
                    f"the store keeps ({store.retention_days} days of retention: "
                    f"{format_time_ms(oldest.replace(microsecond=0))})",
                    f"Start the export at or after {format_time_ms(oldest.replace(microsecond=0))}"
                    " (events older than that are gone from the store).",
                )
            )
    if store.kms_key_id:
        found.append(
            Finding(
                codes.STORE_KMS_KEY,
                Severity.INFO,
                f"the store is encrypted with {store.kms_key_id}: the export role needs "
                "kms:Decrypt and kms:GenerateDataKey on it",
                f"Allow {spec.role_arn or 'the role'} kms:Decrypt and kms:GenerateDataKey on the "
                "key.",
            )
        )
    return found


def _role(spec: ExportSpec, role: Answer[RoleFacts]) -> list[Finding]:
    if isinstance(role, Unreadable):
        return [unreadable(f"the role {spec.role_arn}", role)]
    if isinstance(role, NotFound):
        return [
            Finding(
                codes.ROLE_NOT_FOUND,
                Severity.ERROR,
                f"the role {spec.role_arn} does not exist: CreateImportTask would refuse it",
                "Create the role (trusting cloudtrail.amazonaws.com, allowed "
                "cloudtrail:GetEventDataStoreData and logs:CreateLogGroup, CreateLogStream, "
                "PutResourcePolicy) or fix the ARN.",
            )
        ]
    if not role.trusts_cloudtrail:
        return [
            Finding(
                codes.ROLE_NOT_TRUSTED,
                Severity.ERROR,
                f"the role {spec.role_arn} does not trust cloudtrail.amazonaws.com, which an "
                "import task needs",
                "Add a trust statement: Principal {Service: cloudtrail.amazonaws.com}, Action "
                "sts:AssumeRole.",
            )
        ]
    return []


def gather_export_findings(
    specs: Iterable[ExportSpec], reader_for: Callable[[str], PreflightReader], now: datetime
) -> dict[str, tuple[Finding, ...]]:
    """Findings per export name; each store and role asked once."""
    answers: dict[tuple[str, ...], object] = {}

    def once(key: tuple[str, ...], question: Callable[[], T]) -> Answer[T]:
        if key not in answers:
            answers[key] = _ask(question)
        return answers[key]  # type: ignore[return-value]

    found: dict[str, tuple[Finding, ...]] = {}
    for spec in specs:
        reader = reader_for(spec.account)
        store_key = ("store", spec.account, spec.source)
        store = once(store_key, partial(reader.event_data_store, spec.region, spec.source))
        role = policies = None
        if spec.role_arn is not None:
            role = once(("role", spec.account, spec.role_arn), partial(reader.role, spec.role_arn))
            if isinstance(role, RoleFacts) and role.trusts_cloudtrail:
                policies = once(
                    ("policies", spec.account, spec.role_arn),
                    partial(reader.role_policies, spec.role_arn),
                )
        found[spec.name] = tuple(export_findings(spec, store, role, now, policies))
    return found
