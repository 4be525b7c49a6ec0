"""Facts to findings, one function per thing asked (pure: no I/O, `now` is passed in).

Each check gets what AWS answered, or the `NotFound`/`Unreadable` it raised instead, so a
refused call becomes a warning that names the permission, never a false "not found".
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.defaults import LIVE_INGESTION_MARGIN_MINUTES
from reconciler.fields import format_time
from reconciler.findings import Finding, Severity
from reconciler.ports import (
    BucketFacts,
    NotFound,
    RoleFacts,
    S3Object,
    StoreFacts,
    Unreadable,
)
from reconciler.preflight import codes
from reconciler.preflight.layout import file_time
from reconciler.spec import ImportSpec

USABLE_STATUSES = frozenset({"ENABLED", "STOPPED_INGESTION"})
ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})  # GLACIER_IR reads like STANDARD
ENFORCED = "BucketOwnerEnforced"
_STATUS_WHY = {
    "CREATED": "it is still being created; imports can start once it is ENABLED (usually "
    "within minutes)",
    "ENABLING": "it is being enabled; imports can start once it is ENABLED (usually minutes)",
    "STARTING_INGESTION": "ingestion is starting; it is ENABLED again within minutes",
    "STOPPING_INGESTION": "ingestion is stopping; it is STOPPED_INGESTION within minutes",
    "PENDING_DELETION": "it is pending deletion (deleted 7 days after the request unless "
    "restored with RestoreEventDataStore); imports never start into it",
}


def _finding(code: str, severity: Severity, message: str, fix: str) -> Finding:
    return Finding(code=code, severity=severity, message=message, fix=fix)


def unreadable(what: str, error: Unreadable) -> Finding:
    """A call AWS would not answer: the check was not made, and the reviewer is told why."""
    if error.permission:
        return _finding(
            codes.PREFLIGHT_ACCESS_DENIED,
            Severity.WARNING,
            f"could not check {what}: {error.permission} was refused ({error})",
            f"Grant {error.permission} to the plan's credentials (README lists what preflight "
            "needs), or accept the unchecked risk.",
        )
    return _finding(
        codes.PREFLIGHT_INCOMPLETE,
        Severity.WARNING,
        f"could not check {what}: {error}",
        "Plan again; if it keeps failing, check the endpoint and credentials.",
    )


# -- the store ------------------------------------------------------------------------------


def store_findings(
    spec: ImportSpec,
    store: StoreFacts | NotFound | Unreadable,
    management: str | NotFound | Unreadable | None,
    first_file: datetime | None,
    now: datetime,
) -> list[Finding]:
    if isinstance(store, Unreadable):
        return [unreadable(f"the event data store {spec.destination}", store)]
    if isinstance(store, NotFound):
        return [
            _finding(
                codes.STORE_NOT_FOUND,
                Severity.ERROR,
                f"no event data store {spec.destination} in account {spec.account}, "
                f"Region {spec.region} ({store})",
                "Check the destination ARN (aws cloudtrail list-event-data-stores).",
            )
        ]
    found = [
        *_status(store),
        *_category(store),
        *_live(spec, store),
        *_retention(spec, store, first_file, now),
        *_organization(spec, store, management),
    ]
    if store.kms_key_id:
        found.append(
            _finding(
                codes.STORE_KMS_KEY,
                Severity.INFO,
                f"the store is encrypted with KMS key {store.kms_key_id}",
                f"Allow {spec.role_arn} kms:Decrypt and kms:GenerateDataKey on that key.",
            )
        )
    return found


def _status(store: StoreFacts) -> list[Finding]:
    if store.status in USABLE_STATUSES:
        return []
    why = _STATUS_WHY.get(
        store.status, "imports start only into ENABLED or STOPPED_INGESTION stores"
    )
    return [
        _finding(
            codes.STORE_NOT_USABLE,
            Severity.ERROR,
            f"the store is {store.status}: {why}",
            "Plan again once the store is ENABLED or STOPPED_INGESTION.",
        )
    ]


def _category(store: StoreFacts) -> list[Finding]:
    if store.holds_trail_events:
        return []
    return [
        _finding(
            codes.STORE_WRONG_CATEGORY,
            Severity.ERROR,
            "the store does not hold CloudTrail events (its selectors name Config items, "
            "Insights or external events); StartImport refuses it",
            "Import into an event data store for CloudTrail management, data or network "
            "activity events.",
        )
    ]


def _live(spec: ImportSpec, store: StoreFacts) -> list[Finding]:
    """A store ingests live from its creation (or since ingestion started): events delivered
    after that are in it already, and an import of them stores them twice."""
    if store.created is None or (spec.end is not None and spec.end < store.created):
        return []
    boundary = store.created - timedelta(minutes=LIVE_INGESTION_MARGIN_MINUTES)
    ingesting = store.status != "STOPPED_INGESTION"
    reach = "has no end" if spec.end is None else f"ends at {format_time(spec.end)}"
    since = f"since it was created at {format_time(store.created)}"
    state = "ingests live events" if ingesting else "ingested live events until it stopped"
    return [
        _finding(
            codes.STORE_INGESTS_LIVE,
            Severity.ERROR if ingesting else Severity.WARNING,
            f"the store {state} {since}, and the range {reach}: events after that moment "
            "would be stored twice",
            f"Set end_event_time to {format_time(boundary)} or earlier. Trail file names carry "
            f"their delivery time, a few minutes after their events: ending "
            f"{LIVE_INGESTION_MARGIN_MINUTES} minutes before the store began trades a tiny "
            "gap for no duplicates.",
        )
    ]


def _retention(
    spec: ImportSpec, store: StoreFacts, first_file: datetime | None, now: datetime
) -> list[Finding]:
    if not store.retention_days:
        return []
    oldest = now - timedelta(days=store.retention_days)
    earliest = spec.start or first_file
    if earliest is None or earliest >= oldest:
        return []
    if spec.end is not None and spec.end < oldest:
        part = "the whole range is"
    else:
        part = f"the part before {format_time(oldest)} is"
    # Retention keeps moving while the import runs: suggest the next midnight after a day more.
    margin = oldest + timedelta(days=1)
    safe = margin.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return [
        _finding(
            codes.RETENTION_DROPS_EVENTS,
            Severity.ERROR,
            f"{part} older than the store's retention ({store.retention_days} days): those "
            "events are not kept, and the import reports no error",
            f"Set start_event_time to {format_time(safe)} or later (a day's margin: retention "
            "keeps moving while the import runs), or raise the store's retention period first.",
        )
    ]


def _organization(
    spec: ImportSpec, store: StoreFacts, management: str | NotFound | Unreadable | None
) -> list[Finding]:
    if not store.organization:
        return []
    if isinstance(management, Unreadable):
        return [unreadable("whose credentials an organization store needs", management)]
    if not isinstance(management, str) or management == spec.account:
        return []
    return [
        _finding(
            codes.ORGANIZATION_STORE_MEMBER_ACCOUNT,
            Severity.ERROR,
            f"the store is an organization event data store, and account {spec.account} is "
            f"not the organization's management account ({management})",
            f"Import with credentials of account {management} (accounts: in a manifest), "
            "never a member's or the delegated administrator's.",
        )
    ]


# -- the bucket -----------------------------------------------------------------------------


def bucket_findings(spec: ImportSpec, bucket: BucketFacts | NotFound | Unreadable) -> list[Finding]:
    name = spec.source_uri.removeprefix("s3://").split("/", 1)[0]
    if isinstance(bucket, Unreadable):
        return [unreadable(f"the bucket {name}", bucket)]
    if isinstance(bucket, NotFound):
        return [
            _finding(
                codes.BUCKET_NOT_FOUND,
                Severity.ERROR,
                f"the bucket {name} does not exist",
                "Check the source URI's bucket name.",
            )
        ]
    found: list[Finding] = []
    if bucket.region != spec.bucket_region:
        found.append(
            _finding(
                codes.BUCKET_REGION_MISMATCH,
                Severity.ERROR,
                f"the bucket {name} is in {bucket.region}, not {spec.bucket_region}",
                f"Set the entry's bucket Region to {bucket.region}.",
            )
        )
    if bucket.ownership_unreadable is not None:
        found.append(
            unreadable(f"the bucket {name}'s Object Ownership", bucket.ownership_unreadable)
        )
    elif bucket.object_ownership != ENFORCED:
        setting = bucket.object_ownership or "no ownership controls"
        found.append(
            _finding(
                codes.BUCKET_ACLS_ENABLED,
                Severity.ERROR,
                f"the bucket {name} has ACLs enabled ({setting}); StartImport refuses it",
                f"aws s3api put-bucket-ownership-controls --bucket {name} "
                "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
            )
        )
    return found


def file_findings(spec: ImportSpec, files: Sequence[S3Object] | Unreadable) -> list[Finding]:
    if isinstance(files, Unreadable):
        return [unreadable(f"the log files under {spec.source_uri}", files)]
    if not files:
        return [
            _finding(
                codes.NO_LOG_FILES_IN_RANGE,
                Severity.WARNING,
                f"no trail log file under {spec.source_uri} has a file-name time in the "
                "range: the import would copy nothing",
                "Check the URI (it should hold AWSLogs/ or a path inside it) and the range.",
            )
        ]
    archived = [item for item in files if item.storage_class in ARCHIVED_CLASSES]
    if not archived:
        return []
    return [
        _finding(
            codes.OBJECTS_NEED_RESTORE,
            Severity.WARNING,
            f"{len(archived):,} of {len(files):,} log files in the range are archived "
            f"({', '.join(sorted({item.storage_class for item in archived}))}), e.g. "
            f"{archived[0].key}: they fail unless restored",
            "Restore them first (aws s3api restore-object), then plan again.",
        )
    ]


def listing_incomplete(spec: ImportSpec, where: Sequence[str]) -> Finding:
    return _finding(
        codes.PREFLIGHT_INCOMPLETE,
        Severity.WARNING,
        f"the log files under {spec.source_uri} were not all found: {'; '.join(where[:3])}; "
        "the size and cost are not estimated",
        "Point the URI at the trail's AWSLogs/ folder (or deeper), so preflight lists only it.",
    )


def first_file_time(files: Sequence[S3Object] | Unreadable) -> datetime | None:
    if isinstance(files, Unreadable) or not files:
        return None
    return file_time(files[0].key)


# -- the role -------------------------------------------------------------------------------


def role_findings(spec: ImportSpec, role: RoleFacts | NotFound | Unreadable) -> list[Finding]:
    if isinstance(role, Unreadable):
        return [unreadable(f"the role {spec.role_arn}", role)]
    if isinstance(role, NotFound):
        return [
            _finding(
                codes.ROLE_NOT_FOUND,
                Severity.ERROR,
                f"the role {spec.role_arn} does not exist: every file would fail AccessDenied",
                "Create the role (trusting cloudtrail.amazonaws.com, allowed s3:ListBucket, "
                "s3:GetBucketAcl, s3:GetObject) or fix the ARN.",
            )
        ]
    if not role.trusts_cloudtrail:
        return [
            _finding(
                codes.ROLE_NOT_TRUSTED,
                Severity.ERROR,
                f"the role {spec.role_arn} does not trust cloudtrail.amazonaws.com: every "
                "file would fail AccessDenied",
                "Add a trust statement: Principal {Service: cloudtrail.amazonaws.com}, "
                "Action sts:AssumeRole.",
            )
        ]
    if role.source_arns and not any(
        fnmatch.fnmatchcase(spec.destination, pattern) for pattern in role.source_arns
    ):
        return [
            _finding(
                codes.ROLE_NOT_TRUSTED,
                Severity.ERROR,
                f"the role trusts CloudTrail only for aws:SourceArn "
                f"{', '.join(role.source_arns)}, not this store",
                f"Add {spec.destination} to the trust policy's aws:SourceArn condition.",
            )
        ]
    return []


@dataclass(frozen=True)
class Ignored:
    """An error the entry's `preflight.ignore` lets through: shown as a warning that says so."""

    codes: frozenset[str]

    def apply(self, findings: Sequence[Finding]) -> list[Finding]:
        return [self._one(finding) for finding in findings]

    def _one(self, finding: Finding) -> Finding:
        if finding.severity is not Severity.ERROR or finding.code not in self.codes:
            return finding
        if finding.code in codes.NEVER_IGNORED:
            return finding
        return Finding(
            code=finding.code,
            severity=Severity.WARNING,
            message=f"{finding.message} (ignored: the entry's preflight.ignore names it)",
            fix=finding.fix,
        )
