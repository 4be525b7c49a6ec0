"""What an import sees of S3 and IAM: moto's backends, read in-process (no HTTP)."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.s3.models import FakeDeleteMarker, s3_backends

from reconciler.sandbox.progress import FileFailed
from reconciler.sandbox.source import in_time_range, is_trail_key

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"


def find_bucket(account: str, name: str) -> Any | None:
    """moto's FakeBucket, or None when this account has no such bucket."""
    return s3_backends[account]["aws"].buckets.get(name)


def acls_disabled(bucket: Any) -> bool:
    """Object Ownership BucketOwnerEnforced. A bucket without ownership controls counts as
    enforced: that has been the S3 default for new buckets since April 2023."""
    rule = bucket.ownership_rule
    return rule is None or rule == "BucketOwnerEnforced"


def list_trail_keys(
    account: str, bucket: str, prefix: str, start: datetime | None, end: datetime | None
) -> list[str]:
    found = find_bucket(account, bucket)
    if found is None:
        return []
    keys = []
    for name, key in list(found.keys.items()):
        if isinstance(key, FakeDeleteMarker):
            continue
        if is_trail_key(prefix, name) and in_time_range(name, start, end):
            keys.append(name)
    return sorted(keys)


def role_trusts_cloudtrail(account: str, role_arn: str) -> bool:
    """The role exists in this account's IAM and its trust policy lets CloudTrail assume it."""
    for role in iam_backends[account]["aws"].roles.values():
        if role.arn == role_arn:
            return _trusts(role.assume_role_policy_document)
    return False


def _trusts(document: Any) -> bool:
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        services = statement.get("Principal", {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if CLOUDTRAIL_PRINCIPAL in services:
            return True
    return False


def read_records(account: str, bucket: str, key: str) -> list[dict[str, Any]] | FileFailed:
    """The `Records` of one trail file, or why it cannot be imported."""
    found = find_bucket(account, bucket)
    obj = None if found is None else found.keys.get(key)
    if obj is None or isinstance(obj, FakeDeleteMarker):
        return FileFailed("NoSuchKey", f"The object s3://{bucket}/{key} does not exist.")
    try:
        document = json.loads(gzip.decompress(obj.value))
    except (OSError, EOFError, zlib.error):
        return FileFailed("InvalidFileFormat", "The file is not gzip-compressed.")
    except (ValueError, UnicodeDecodeError):
        return FileFailed("InvalidFileFormat", "The file does not contain valid JSON.")
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return FileFailed("InvalidFileFormat", "The file has no Records list.")
    for number, record in enumerate(records):
        if not isinstance(record, dict) or not record.get("eventID") or not record.get("eventTime"):
            return FileFailed(
                "InvalidEventFormat", f"Record {number} has no eventID or no eventTime."
            )
    return records
