"""Pydantic models of a manifest file, exactly as a user writes it.

Two entry shapes exist (DESIGN.md, "Manifests (Pinned)"): the friendly one, which per-file
`defaults` complete, and the API's own shape as `aws cloudtrail start-import
--generate-cli-skeleton` prints it, which is complete on its own. Our own keys (`name`,
`retry`, `allow_overlap`, `preflight`) are accepted in both. `load.py` turns either into an
`ImportSpec`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
)
from pydantic_core import PydanticCustomError

from reconciler.defaults import MAX_PRICE_PER_GB
from reconciler.manifest.fieldtypes import (
    EpochMillis,
    EventDataStoreArn,
    EventTime,
    ExportTaskId,
    ExportTime,
    ImportName,
    RegionName,
    RoleArn,
    S3Uri,
)
from reconciler.manifest.fieldtypes import ImportId as ImportIdField
from reconciler.preflight.codes import IGNORABLE, NEVER_IGNORED

MAX_ATTEMPTS_LIMIT = 20


class _Model(BaseModel):
    # defer_build: the two TypeAdapters in manifest/load.py compile what validation needs; building
    # each model's own validator at import too would cost about 25 ms of every run.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SourceFields(_Model):
    """Where the trail logs are and how CloudTrail may read them."""

    uri: S3Uri | None = Field(
        None, description="s3://BUCKET[/PREFIX]; part of the import's identity, kept as written."
    )
    bucket_region: RegionName | None = Field(None, description="Region of the source bucket.")
    role_arn: RoleArn | None = Field(
        None,
        description="Role CloudTrail assumes to read the bucket (trusts cloudtrail.amazonaws.com).",
    )


class RetryFields(_Model):
    max_attempts: StrictInt = Field(
        3,
        ge=1,
        le=MAX_ATTEMPTS_LIMIT,
        description="StartImport calls allowed for this entry, the first included.",
    )
    stopped: StrictBool = Field(False, description="Also retry imports that were STOPPED.")


def _known_code(code: str) -> str:
    if code in NEVER_IGNORED:
        raise ValueError(
            f"{code} cannot be ignored: set allow_overlap: true on the entry to import an "
            "overlap on purpose"
        )
    if code not in IGNORABLE:
        raise ValueError(
            f"{code!r} is not a preflight finding code; known codes: {', '.join(sorted(IGNORABLE))}"
        )
    return code


FindingCode = Annotated[str, AfterValidator(_known_code)]


class PreflightFields(_Model):
    """What preflight may let through for this entry, and how it prices it."""

    ignore: list[FindingCode] = Field(
        default_factory=list,
        max_length=len(IGNORABLE),
        description="Error codes that do not make this entry `attention` (still shown, as "
        "warnings). README lists the codes; overlaps-existing-import is never ignored.",
    )
    price_per_gb: float | None = Field(
        None,
        gt=0,
        le=MAX_PRICE_PER_GB,
        allow_inf_nan=False,
        description="USD per GB of uncompressed events ingested; wins over --price-per-gb.",
    )


class ExportDefaults(_Model):
    """Values for the friendly exports of the same file."""

    role_arn: RoleArn | None = Field(
        None, description="Role CloudWatch Logs uses to read the store (trusts cloudtrail)."
    )
    start_event_time: ExportTime | None = None
    end_event_time: ExportTime | None = None


class Defaults(_Model):
    """Values for the friendly entries of the same file (never for API-shaped ones)."""

    destination: EventDataStoreArn | None = None
    source: SourceFields | None = None
    start_event_time: EventTime | None = None
    end_event_time: EventTime | None = None
    retry: RetryFields | None = None
    preflight: PreflightFields | None = None
    exports: ExportDefaults | None = Field(None, description="Defaults for `exports:` entries.")


class FriendlyEntry(_Model):
    name: ImportName = Field(description="Unique across all manifest files; the key in state.")
    destination: EventDataStoreArn | None = Field(
        None, description="ARN of the event data store to import into."
    )
    source: SourceFields | None = None
    start_event_time: EventTime | None = Field(
        None, description="Earliest log file time to import (closed range)."
    )
    end_event_time: EventTime | None = Field(
        None, description="Latest log file time to import (closed range)."
    )
    retry: RetryFields | None = None
    import_id: ImportIdField = Field(None, description="Pin this entry to an existing ImportId.")
    allow_overlap: StrictBool = Field(
        False,
        description="Accept that this range overlaps an earlier entry's (events stored twice).",
    )
    preflight: PreflightFields | None = None


class ApiS3Source(_Model):
    S3LocationUri: S3Uri
    S3BucketRegion: RegionName
    S3BucketAccessRoleArn: RoleArn


class ApiImportSource(_Model):
    S3: ApiS3Source


class ApiEntry(_Model):
    name: ImportName = Field(description="Unique across all manifest files; the key in state.")
    Destinations: list[EventDataStoreArn] = Field(min_length=1, max_length=1)
    ImportSource: ApiImportSource
    StartEventTime: EventTime | None = None
    EndEventTime: EventTime | None = None
    ImportId: ImportIdField = None
    retry: RetryFields | None = None
    allow_overlap: StrictBool = False
    preflight: PreflightFields | None = None


API_KEYS = frozenset({"Destinations", "ImportSource", "StartEventTime", "EndEventTime", "ImportId"})
FRIENDLY_KEYS = frozenset(FriendlyEntry.model_fields) - {
    "name",
    "retry",
    "allow_overlap",
    "preflight",
}


def entry_shape(value: Any) -> str:
    """An entry with any of the API's keys is API-shaped; mixing is reported as unknown keys."""
    if isinstance(value, dict) and not API_KEYS.isdisjoint(value):
        return "api"
    return "friendly"


ImportEntry = Annotated[
    Annotated[FriendlyEntry, Tag("friendly")] | Annotated[ApiEntry, Tag("api")],
    Discriminator(entry_shape),
]


class FriendlyExport(_Model):
    """An export to CloudWatch Logs: a CloudWatch Logs import task from an event data store."""

    name: ImportName = Field(
        description="Unique across all manifest files, imports and exports alike."
    )
    source: EventDataStoreArn = Field(description="ARN of the event data store to copy from.")
    role_arn: RoleArn | None = Field(
        None,
        description="Role CloudWatch Logs uses (cloudtrail:GetEventDataStoreData, logs:*); "
        "only an entry pinned by import_id may leave it out.",
    )
    start_event_time: ExportTime | None = Field(
        None, description="Earliest eventTime to copy (closed range, to the millisecond)."
    )
    end_event_time: ExportTime | None = Field(
        None, description="Latest eventTime to copy (closed range, to the millisecond)."
    )
    import_id: ExportTaskId = Field(None, description="Pin this entry to an existing task.")
    allow_overlap: StrictBool = Field(
        False, description="Accept that this range overlaps another export of the store."
    )
    fills: ImportName | None = Field(
        None,
        description="Completes the FAILED export of this name: its range lies inside that "
        "export's, and is exported only while the log group holds no event in it.",
    )


class ApiExportFilter(_Model):
    startEventTime: EpochMillis | None = None
    endEventTime: EpochMillis | None = None


class ApiExport(_Model):
    """An export in the shape of `aws logs create-import-task`'s input, plus a name."""

    name: ImportName = Field(
        description="Unique across all manifest files, imports and exports alike."
    )
    importSourceArn: EventDataStoreArn
    importRoleArn: RoleArn | None = None
    importFilter: ApiExportFilter | None = None
    importId: ExportTaskId = None
    allow_overlap: StrictBool = False
    fills: ImportName | None = None


EXPORT_API_KEYS = frozenset({"importSourceArn", "importRoleArn", "importFilter", "importId"})


def export_shape(value: Any) -> str:
    if isinstance(value, dict) and not EXPORT_API_KEYS.isdisjoint(value):
        return "api"
    return "friendly"


ExportEntry = Annotated[
    Annotated[FriendlyExport, Tag("friendly")] | Annotated[ApiExport, Tag("api")],
    Discriminator(export_shape),
]


class AccountAccess(_Model):
    """How to reach one account: a role to assume, or a named profile (not both)."""

    role_arn: RoleArn | None = Field(
        None, description="Role in that account to assume with STS for its imports."
    )
    external_id: Annotated[str, Field(min_length=2, max_length=1224)] | None = Field(
        None, description="ExternalId for AssumeRole, when the role's trust policy asks for one."
    )
    session_name: Annotated[str, Field(pattern=r"^[\w+=,.@-]{2,64}$")] | None = Field(
        None, description="RoleSessionName (default: reconcile-USER-RUN, which CloudTrail logs)."
    )
    profile: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="A named profile from the AWS shared config files instead of a role."
    )
    queue_scope: Literal["account", "region"] | None = Field(
        None,
        description="One ongoing import per account (the default, as AWS words its limit), or "
        "per account and Region for accounts known to allow one per Region.",
    )


AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]


def _version(value: Any) -> Any:
    """`version: true` and `version: 1.0` are not 1 (pydantic's lax mode would take both)."""
    if type(value) is not int:
        raise PydanticCustomError(
            "version",
            "must be the number 1, not {value}",
            {"value": json.dumps(value, default=str)},
        )
    return value


Version = Annotated[Literal[1], BeforeValidator(_version)]


class ManifestDocument(_Model):
    """A whole manifest file."""

    version: Version = Field(description="Manifest format version; must be 1.")
    defaults: Defaults | None = None
    imports: list[ImportEntry] = Field(default_factory=list)
    exports: list[ExportEntry] = Field(
        default_factory=list,
        description="CloudWatch Logs import tasks that copy a store's events out of Lake.",
    )
    accounts: dict[AccountId, AccountAccess] | None = Field(
        None,
        description="Per account ID (12 digits): how to reach it. Accounts not listed use the "
        "run's own credentials.",
    )


class ManifestHeader(_Model):
    """The top level without its entries, so each entry can be checked on its own."""

    version: Version
    defaults: Defaults | None = None
    imports: list[Any] = Field(default_factory=list)
    exports: list[Any] = Field(default_factory=list)
    accounts: dict[AccountId, AccountAccess] | None = None
