"""Which import failures a retry can cure, and which only the user can fix.

A retry of a FAILED import resumes at the files that failed. When every failure is of a kind
that no retry changes (the role may not read the bucket or its KMS key, the files are not
gzip CloudTrail logs, the bucket is gone), retrying only spends the entry's attempts: the plan
asks for the fix instead, and `reconcile apply --retry NAME` says it is done. Error types are
matched as AWS and the sandbox report them (ListImportFailures' ErrorType); an unknown type
gets the normal retry.

StartImport refusals for a store that is not usable *yet* (being created, stopping, pending
deletion) are a third kind: nothing started, so they are tried again later, with backoff, and
do not count as attempts.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.observed import Failure

# ErrorType (lower-cased) -> what the user must do. Retrying cannot change any of these.
_FIXES = {
    "accessdenied": "let the role read the bucket (s3:ListBucket, s3:GetBucketAcl, "
    "s3:GetObject; for SSE-KMS also kms:Decrypt) and check that it trusts "
    "cloudtrail.amazonaws.com",
    "kms": "let the role use the bucket's KMS key (kms:Decrypt, kms:GenerateDataKey)",
    "invalidfileformat": "remove or replace the files under the prefix that are not "
    "gzip-compressed CloudTrail log files",
    "invalideventformat": "remove or replace the files whose records lack eventID or eventTime",
    "nosuchbucket": "restore the bucket, or point the entry at the bucket that holds the logs",
    "invalidobjectstate": "restore the archived (Glacier) objects first",
}

STORE_NOT_USABLE = frozenset(
    {"InvalidEventDataStoreStatusException", "InactiveEventDataStoreException"}
)


def _fix_for(error_type: str) -> str | None:
    kind = error_type.lower()
    if "kms" in kind:
        return _FIXES["kms"]
    if "accessdenied" in kind or kind == "forbidden":
        return _FIXES["accessdenied"]
    for key, fix in _FIXES.items():
        if kind.startswith(key):
            return fix
    return None


def user_fixes(failures: Iterable[Failure]) -> list[str] | None:
    """The fixes, when every failure is one only the user can fix; None when any failure
    is of a kind a retry may cure (or there are none to judge by)."""
    fixes: list[str] = []
    seen = False
    for failure in failures:
        if failure.status == "SUCCEEDED":
            continue
        seen = True
        fix = _fix_for(failure.error_type)
        if fix is None:
            return None
        if fix not in fixes:
            fixes.append(fix)
    return fixes if seen else None
