"""Every finding code preflight gives, with its severity and what it means (README lists them).

The pinned ones (issue 12) never change name; the others are ours. `overlaps-existing-import`
comes from the planner (plan/overlaps.py) and cannot be ignored: `allow_overlap` is its switch.
"""

from __future__ import annotations

# Pinned codes.
STORE_INGESTS_LIVE = "store-ingests-live"
RETENTION_DROPS_EVENTS = "retention-drops-events"
STORE_NOT_USABLE = "store-not-usable"
ROLE_NOT_FOUND = "role-not-found"
ROLE_NOT_TRUSTED = "role-not-trusted"
BUCKET_NOT_FOUND = "bucket-not-found"
BUCKET_REGION_MISMATCH = "bucket-region-mismatch"
BUCKET_ACLS_ENABLED = "bucket-acls-enabled"
NO_LOG_FILES_IN_RANGE = "no-log-files-in-range"
OBJECTS_NEED_RESTORE = "objects-need-restore"
ORGANIZATION_STORE_MEMBER_ACCOUNT = "organization-store-member-account"
OVER_BUDGET = "over-budget"
# Ours.
PREFLIGHT_ACCESS_DENIED = "preflight-access-denied"
PREFLIGHT_INCOMPLETE = "preflight-incomplete"
STORE_NOT_FOUND = "store-not-found"
STORE_WRONG_CATEGORY = "store-wrong-category"
STORE_KMS_KEY = "store-kms-key"
OVERLAPS_EXISTING_IMPORT = "overlaps-existing-import"
OVERLAP_ALLOWED = "overlap-allowed"
# Exports to CloudWatch Logs (issue 15).
EXPORT_OUTSIDE_RETENTION = "export-outside-retention"
EXPORT_BEFORE_2023 = "export-before-2023"
EXPORT_STORE_NOT_READY = "export-store-not-ready"
EXPORT_ESTIMATE = "export-estimate"
EXPORT_ROLE_PERMISSIONS = "export-role-permissions"

# code -> (severity, one line for README and `validate --online --help`)
CODES: dict[str, tuple[str, str]] = {
    EXPORT_OUTSIDE_RETENTION: (
        "error",
        "an export's range starts before the oldest event the store keeps (its retention): "
        "CreateImportTask refuses a filter outside it",
    ),
    EXPORT_BEFORE_2023: (
        "error",
        "an export's range starts before 2023: AWS's migration guide says such data cannot be "
        "exported",
    ),
    EXPORT_ESTIMATE: (
        "info",
        "what an export would copy: events from the imports that filled its store, their size "
        "and the Infrequent Access ingestion price",
    ),
    EXPORT_ROLE_PERMISSIONS: (
        "warning",
        "the export role's own policies grant no cloudtrail:GetEventDataStoreData on the store, "
        "or none of logs:CreateLogGroup, CreateLogStream, PutResourcePolicy (or deny one): the "
        "task would fail after it started",
    ),
    EXPORT_STORE_NOT_READY: (
        "error",
        "an export's store is neither ENABLED nor STOPPED_INGESTION, the states a task reads from",
    ),
    STORE_INGESTS_LIVE: (
        "error (warning once ingestion is stopped)",
        "the store ingests live events, and the range reaches past the moment it began: "
        "those events would be stored twice",
    ),
    RETENTION_DROPS_EVENTS: (
        "error",
        "part of the range is older than the store's retention period: those events are "
        "dropped without a word (and still read)",
    ),
    STORE_NOT_USABLE: (
        "error",
        "the store's status does not allow an import now (CREATED, ENABLING, STARTING or "
        "STOPPING_INGESTION, PENDING_DELETION)",
    ),
    STORE_NOT_FOUND: ("error", "no event data store with this ARN in its account and Region"),
    STORE_WRONG_CATEGORY: (
        "error",
        "the store does not hold CloudTrail events (Config items, Insights, external events)",
    ),
    STORE_KMS_KEY: (
        "info",
        "the store is encrypted with a KMS key: the import role needs kms:Decrypt and "
        "kms:GenerateDataKey on it",
    ),
    ORGANIZATION_STORE_MEMBER_ACCOUNT: (
        "error",
        "an organization store must be imported into with the management account's "
        "credentials, never a member's or the delegated administrator's",
    ),
    BUCKET_NOT_FOUND: ("error", "the source bucket does not exist"),
    BUCKET_REGION_MISMATCH: ("error", "the bucket is not in the entry's bucket Region"),
    BUCKET_ACLS_ENABLED: (
        "error",
        "the bucket has ACLs enabled; StartImport needs Object Ownership BucketOwnerEnforced",
    ),
    NO_LOG_FILES_IN_RANGE: (
        "warning",
        "no trail log file under the URI has a file-name time inside the range",
    ),
    OBJECTS_NEED_RESTORE: (
        "warning",
        "log files in the range are in an archive storage class (Glacier Flexible Retrieval, "
        "Deep Archive): restore them first or those files fail",
    ),
    ROLE_NOT_FOUND: ("error", "the import role does not exist"),
    ROLE_NOT_TRUSTED: (
        "error",
        "the role's trust policy does not let cloudtrail.amazonaws.com assume it (for this "
        "store: an aws:SourceArn condition may name another)",
    ),
    OVER_BUDGET: (
        "error",
        "the run's estimated total is above --max-cost (RECONCILE_MAX_COST): every start of "
        "the run gets it; so does a start whose cost could not be estimated",
    ),
    PREFLIGHT_ACCESS_DENIED: (
        "warning",
        "a preflight call was refused for lack of permission; the message names it",
    ),
    PREFLIGHT_INCOMPLETE: (
        "warning",
        "a preflight call failed (throttled, unreachable), or the search for log files was cut "
        "short: that check was not made",
    ),
    OVERLAPS_EXISTING_IMPORT: (
        "error",
        "the range overlaps an import already in the store (never ignorable; see allow_overlap)",
    ),
    OVERLAP_ALLOWED: (
        "warning",
        "the range overlaps an import already in the store and the entry says allow_overlap: true",
    ),
}
# The overlap has its own switch (allow_overlap); the budget is the run's, not an entry's.
NEVER_IGNORED = frozenset({OVERLAPS_EXISTING_IMPORT, OVER_BUDGET})
# Exports have no `preflight.ignore` (yet): their codes are not offered to imports either.
EXPORT_ONLY = frozenset(
    {
        EXPORT_OUTSIDE_RETENTION,
        EXPORT_BEFORE_2023,
        EXPORT_STORE_NOT_READY,
        EXPORT_ESTIMATE,
        EXPORT_ROLE_PERMISSIONS,
    }
)
IGNORABLE = frozenset(CODES) - NEVER_IGNORED - EXPORT_ONLY
