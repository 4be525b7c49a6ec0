"""The checks StartImport makes before a new import exists (DOMAIN.md "Sandbox choices").

Each condition maps to the exact error code of the table there; the order here is the order
in which a request with several problems reports them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox import errors, reader
from reconciler.sandbox.source import S3Location, parse_s3_uri
from reconciler.sandbox.stores import ARN_PATTERN, EventDataStore, holds_trail_events

# Store statuses from which an import may not start yet (or any more).
TRANSITIONAL_STATUSES = frozenset({"CREATED", "STARTING_INGESTION", "STOPPING_INGESTION"})


def parse_time(value: Any) -> datetime | None:
    """botocore sends JSON timestamps as epoch seconds; accept ISO strings too."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidParameter(f"Invalid timestamp: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_destination(
    stores: dict[str, EventDataStore], account: str, region: str, arn: str
) -> EventDataStore:
    match = ARN_PATTERN.match(arn)
    if match is None or match["account"] != account:
        raise errors.EventDataStoreARNInvalid(
            f"{arn} is not an event data store ARN of account {account}."
        )
    store = stores.get(arn)
    if store is None:
        raise errors.EventDataStoreNotFound(f"Event data store {arn} not found in {region}.")
    if store.status == "PENDING_DELETION":
        raise errors.InactiveEventDataStore(f"Event data store {arn} is pending deletion.")
    if store.status in TRANSITIONAL_STATUSES:
        raise errors.InvalidEventDataStoreStatus(
            f"Event data store {arn} is {store.status}; it must be ENABLED or STOPPED_INGESTION."
        )
    if not holds_trail_events(store.selectors):
        raise errors.InvalidEventDataStoreCategory(
            f"Event data store {arn} does not hold CloudTrail events."
        )
    return store


def check_source(account: str, s3: dict[str, str]) -> S3Location:
    location = parse_s3_uri(s3["S3LocationUri"])
    if location is None:
        raise errors.InvalidImportSource(
            f"{s3['S3LocationUri']} is not of the form s3://bucket[/prefix]."
        )
    bucket = reader.find_bucket(account, location.bucket)
    if bucket is None:
        raise errors.InvalidImportSource(f"Bucket {location.bucket} does not exist.")
    if bucket.region_name != s3["S3BucketRegion"]:
        raise errors.InvalidImportSource(
            f"Bucket {location.bucket} is in {bucket.region_name}, not {s3['S3BucketRegion']}."
        )
    if not reader.acls_disabled(bucket):
        raise errors.InvalidImportSource(
            f"Bucket {location.bucket} has ACLs enabled; set Object Ownership to "
            "BucketOwnerEnforced."
        )
    return location
