"""What an import sees of S3 and IAM: moto's backends, read in-process (no HTTP).

Source buckets may belong to another account (bucket names are global in moto as in S3);
such a bucket is read only when its bucket policy lets the importing account in.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from datetime import datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.s3.models import FakeDeleteMarker, s3_backends

from reconciler.sandbox.progress import FileFailed
from reconciler.sandbox.source import in_time_range, is_trail_key

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"


def find_bucket(account: str, name: str) -> Any | None:
    """moto's FakeBucket of that name, whichever account owns it (bucket names are global),
    or None. The importing account's own buckets come first; any other bucket is found
    through moto's global name registry `s3_backends.bucket_accounts` (name -> (partition,
    owner)). Whether the importing account may read it is `bucket_lets_read`'s question."""
    own = s3_backends[account]["aws"].buckets.get(name)
    if own is not None:
        return own
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, owner_account = owner
    return s3_backends[owner_account][partition].buckets.get(name)


def acls_disabled(bucket: Any) -> bool:
    """Only an explicit Object Ownership `BucketOwnerEnforced` disables ACLs. A bucket without
    ownership controls has ACLs enabled, as buckets made before April 2023 do (DOMAIN.md
    "Sandbox choices"). moto keeps the rule as the ObjectOwnership string."""
    rule = bucket.ownership_rule
    if isinstance(rule, dict):  # tolerate a parsed {"ObjectOwnership": ...} too
        rule = rule.get("ObjectOwnership")
    return bool(rule == "BucketOwnerEnforced")


def bucket_lets_read(account: str, role_arn: str, bucket_name: str) -> bool:
    """Whether the import's role may read the bucket. A bucket of the importing account
    is readable (the role's own permissions are not modelled). A bucket of another account
    is readable only when its bucket policy has a statement with Effect Allow, a Principal
    that is `*` or names the role ARN, the importing account's ID or its
    `arn:aws:iam::ID:root` (as a string or in `{"AWS": ...}`), and an Action matching
    s3:GetObject (`s3:GetObject`, `s3:Get*`, `s3:*`, `*`; case-insensitive). Deliberately
    simple: Resource, Condition, Deny, NotPrincipal and NotAction are not evaluated."""
    bucket = find_bucket(account, bucket_name)
    if bucket is None or bucket.account_id == account:
        return True  # a missing bucket fails later, as NoSuchKey
    if not bucket.policy:
        return False
    try:
        policy = json.loads(bucket.policy)
    except (ValueError, UnicodeDecodeError):
        return False
    principals = {"*", role_arn, account, f"arn:aws:iam::{account}:root"}
    return any(_allows_get_object(s, principals) for s in _statements(policy))


def _allows_get_object(statement: dict[str, Any], principals: set[str]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not principals & _principal_names(statement.get("Principal")):
        return False
    return any(_action_matches(a, "s3:GetObject") for a in _names(statement.get("Action")))


def _statements(policy: Any) -> list[dict[str, Any]]:
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    statements = statements if isinstance(statements, list) else [statements]
    return [statement for statement in statements if isinstance(statement, dict)]


def _names(value: Any) -> list[str]:
    """A policy field that may be one string or a list of them."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _principal_names(principal: Any) -> set[str]:
    if isinstance(principal, dict):
        return set(_names(principal.get("AWS")))
    return set(_names(principal))  # "Principal": "*"


def _action_matches(pattern: str, action: str) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one; case-insensitive."""
    regex = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, action.lower()) is not None


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


def read_as(
    account: str, role_arn: str, bucket: str, key: str
) -> list[dict[str, Any]] | FileFailed:
    """One file read as CloudTrail does, with the import's role: AccessDenied when the role
    cannot be assumed or another account's bucket does not let it read (then every file of
    the import fails alike)."""
    if not role_trusts_cloudtrail(account, role_arn):
        return FileFailed(
            "AccessDenied", f"CloudTrail cannot assume {role_arn} to read s3://{bucket}/{key}."
        )
    if not bucket_lets_read(account, role_arn, bucket):
        return FileFailed(
            "AccessDenied",
            f"The policy of bucket {bucket} (of another account) does not allow {role_arn} "
            f"s3:GetObject on s3://{bucket}/{key}.",
        )
    return read_records(account, bucket, key)


# Archived storage classes cannot be read until restored (DOMAIN.md, "Source layout").
ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def _restored(obj: Any) -> bool:
    return bool(getattr(obj, "expiry_date", None))  # moto sets it on RestoreObject


def read_records(account: str, bucket: str, key: str) -> list[dict[str, Any]] | FileFailed:
    """The `Records` of one trail file, or why it cannot be imported."""
    found = find_bucket(account, bucket)
    obj = None if found is None else found.keys.get(key)
    if obj is None or isinstance(obj, FakeDeleteMarker):
        return FileFailed("NoSuchKey", f"The object s3://{bucket}/{key} does not exist.")
    if getattr(obj, "storage_class", "STANDARD") in ARCHIVED_CLASSES and not _restored(obj):
        return FileFailed(
            "InvalidObjectState",
            f"The object s3://{bucket}/{key} is in {obj.storage_class}: restore it first.",
        )
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
