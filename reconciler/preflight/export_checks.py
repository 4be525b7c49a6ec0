"""Preflight for exports: what the store and the role say before CreateImportTask is sent.

The range must lie inside the store's retention and not before 2023 (AWS's migration guide);
the store must be ENABLED or STOPPED_INGESTION; the role must exist and trust
cloudtrail.amazonaws.com; a store with a KMS key needs kms:Decrypt and kms:GenerateDataKey.
Answers AWS would not give become warnings, never guesses. Facts come through the same
`PreflightReader` port imports use, each asked once per store and role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from reconciler.exportspec import ExportSpec
from reconciler.fields import format_time_ms
from reconciler.findings import Finding, Severity
from reconciler.ports import NotFound, PreflightReader, RoleFacts, StoreFacts, Unreadable
from reconciler.preflight import codes
from reconciler.preflight.checks import unreadable
from reconciler.preflight.gather import Answer, _ask

T = TypeVar("T")
EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
EXPORTABLE = ("ENABLED", "STOPPED_INGESTION")


def export_findings(
    spec: ExportSpec, store: Answer[StoreFacts], role: Answer[RoleFacts] | None, now: datetime
) -> list[Finding]:
    """Pure: the findings for one export from the answers about its store and role (`role`
    None: the entry names none, being pinned to an existing task)."""
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
    return found


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
        role = None
        if spec.role_arn is not None:
            role = once(("role", spec.account, spec.role_arn), partial(reader.role, spec.role_arn))
        found[spec.name] = tuple(export_findings(spec, store, role, now))
    return found
