"""The sandbox's tunables, one object per process (moto's backends are process-global too).

`start_sandbox` sets it; tests change it through POST /_reconcile/config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

ONGOING_SCOPES = ("account", "region")
ECHO_MODES = ("exact", "normalised")


# The read calls `denied_actions` may name (sandbox/denials.py recognises each).
DENIABLE = frozenset(
    {
        "cloudtrail:GetEventDataStore",
        "organizations:DescribeOrganization",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetBucketOwnershipControls",
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "logs:StartQuery",
    }
)


@dataclass
class SandboxConfig:
    speed: float = 20.0  # files an import completes per second of wall-clock time
    init_seconds: float = 1.0  # how long a (re)started import stays INITIALIZING
    latency_ms: float = 0.0  # delay before every CloudTrail call
    throttle: float = 0.0  # fraction of CloudTrail calls answered with ThrottlingException
    lose_start_responses: float = 0.0  # StartImport and CreateImportTask answered HTTP 500
    fault_seed: int | None = None  # makes the fault choices repeatable
    # "account": one ongoing import per account across all Regions (AWS's wording);
    # "region": one per account and Region.
    ongoing_scope: str = "account"
    # "exact": imports echo Destinations, S3LocationUri and the times as sent; "normalised":
    # store ID for the ARN, the URI's trailing slash toggled, EndEventTime at .999 s.
    echo: str = "exact"
    store_ready_seconds: float = 0.0  # a new event data store stays CREATED this long
    # S3 keys whose first read by each import fails with ErrorType InternalError: a failure
    # that a retry cures, as a passing S3 error would be (the other failures need a fix).
    flaky_keys: list[str] = field(default_factory=list)
    # Read calls answered with AccessDenied, as IAM would for a role without them (e.g.
    # "s3:ListBucket"); the names are in sandbox/denials.py.
    denied_actions: list[str] = field(default_factory=list)
    # CloudWatch Logs import tasks (sandbox/exports.py): seconds per batch (one day of
    # eventTime), and the days (YYYY-MM-DD) whose batches fail, as a role or KMS key would.
    export_batch_seconds: float = 0.5
    export_failing_days: list[str] = field(default_factory=list)
    # Every batch of a task from a store with a KMS key fails, as when the role may not use
    # the key (kms:Decrypt): the task ends FAILED having copied nothing.
    export_kms_denied: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply known keys (from JSON); unknown keys or bad values are a caller error, and
        then nothing changes (the candidate is checked before any setting is applied)."""
        known = {field.name for field in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown sandbox settings: {sorted(unknown)}")
        candidate = replace(self, **changes)
        candidate.validate()
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def validate(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be > 0 files per second")
        if self.ongoing_scope not in ONGOING_SCOPES:
            raise ValueError(f"ongoing_scope must be one of {list(ONGOING_SCOPES)}")
        if self.echo not in ECHO_MODES:
            raise ValueError(f"echo must be one of {list(ECHO_MODES)}")
        if not isinstance(self.flaky_keys, list) or not all(
            isinstance(key, str) for key in self.flaky_keys
        ):
            raise ValueError("flaky_keys must be a list of S3 keys")
        if not isinstance(self.denied_actions, list) or not set(self.denied_actions) <= DENIABLE:
            raise ValueError(f"denied_actions must name some of {sorted(DENIABLE)}")
        if self.export_batch_seconds < 0:
            raise ValueError("export_batch_seconds must be >= 0")
        if not isinstance(self.export_failing_days, list) or not all(
            isinstance(day, str) and len(day) == 10 for day in self.export_failing_days
        ):
            raise ValueError("export_failing_days must be a list of YYYY-MM-DD days")
        if not isinstance(self.export_kms_denied, bool):
            raise ValueError("export_kms_denied must be true or false")
        if self.store_ready_seconds < 0:
            raise ValueError("store_ready_seconds must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


CONFIG = SandboxConfig()
