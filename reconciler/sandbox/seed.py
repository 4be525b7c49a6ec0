"""The seeded demo world (DESIGN.md "The sandbox (Pinned names)").

`manifests/examples/` name these exact ARNs, so every name here is a constant and every ARN is
derived from (account, Region, name) by `stores.store_arn`, stable across runs. Seeding writes
into moto's backends in-process (no HTTP), which keeps it well under a second.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.stores import store_arn
from reconciler.sandbox.trailgen import TrailSpec, generate

ACCOUNT = "123456789012"
OTHER_ORG_ACCOUNT = "210987654321"  # a second member account in the organization layout
REGIONS = ("us-east-1", "us-west-2")
ORGANIZATION_ID = "o-a1b2c3d4e5"

BUCKET = "reconcile-demo-trail"
BUCKET_REGION = "us-east-1"
ROLE_NAME = "reconcile-demo-import"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"

# Logs exist for every hour in [SEEDED_START, SEEDED_END) (end exclusive), 2 files per hour.
SEEDED_START = datetime(2026, 1, 5, tzinfo=UTC)
SEEDED_END = datetime(2026, 1, 8, tzinfo=UTC)
FILES_PER_HOUR = 2
RECORDS_PER_FILE = 5

# s3://reconcile-demo-trail/AWSLogs/123456789012/CloudTrail/...  (single-account trail)
SINGLE_ACCOUNT_URI = f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/"
# s3://reconcile-demo-trail/AWSLogs/o-a1b2c3d4e5/...               (organization trail)
ORGANIZATION_URI = f"s3://{BUCKET}/AWSLogs/{ORGANIZATION_ID}/"

MANAGEMENT_STORE_NAME = "reconcile-demo-management"  # us-east-1, management events
WEST_STORE_NAME = "reconcile-demo-west"  # us-west-2, management events
CONFIG_STORE_NAME = "reconcile-demo-config"  # us-east-1, Config items: imports refuse it
MANAGEMENT_STORE_ARN = store_arn(ACCOUNT, "us-east-1", MANAGEMENT_STORE_NAME)
WEST_STORE_ARN = store_arn(ACCOUNT, "us-west-2", WEST_STORE_NAME)
CONFIG_STORE_ARN = store_arn(ACCOUNT, "us-east-1", CONFIG_STORE_NAME)

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What the role may do, as AWS documents it for imports (read the bucket) and for export tasks
# (read the stores, make the log group): preflight reads it, and a demo role should be right.
ROLE_POLICY_NAME = "reconcile-demo-permissions"
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        },
        {
            "Effect": "Allow",
            "Action": "cloudtrail:GetEventDataStoreData",
            "Resource": f"arn:aws:cloudtrail:*:{ACCOUNT}:eventdatastore/*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream"],
            "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:aws/cloudtrail/*",
        },
        {"Effect": "Allow", "Action": "logs:PutResourcePolicy", "Resource": "*"},
    ],
}
CONFIG_SELECTORS = [
    {
        "Name": "Config items",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["ConfigurationItem"]}],
    }
]
_STORES = (
    ("us-east-1", MANAGEMENT_STORE_NAME, None),
    ("us-west-2", WEST_STORE_NAME, None),
    ("us-east-1", CONFIG_STORE_NAME, CONFIG_SELECTORS),
)


@functools.cache
def seeded_files() -> tuple[tuple[str, bytes], ...]:
    """Both layouts, with digest files; generated once per process (reseeding is cheap)."""
    common: dict[str, Any] = {
        "regions": REGIONS, "start": SEEDED_START, "end": SEEDED_END,
        "files_per_hour": FILES_PER_HOUR, "records_per_file": RECORDS_PER_FILE, "digests": True,
    }  # fmt: skip
    single = TrailSpec(accounts=(ACCOUNT,), seed=1, **common)
    organization = TrailSpec(
        accounts=(ACCOUNT, OTHER_ORG_ACCOUNT), organization_id=ORGANIZATION_ID, seed=2, **common
    )
    return (*generate(single), *generate(organization))


def seed() -> None:
    """Create the bucket (with logs), the role and the stores, skipping any that exist."""
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    from reconciler.sandbox.backend import lake_backends

    s3 = s3_backends[ACCOUNT]["aws"]
    if BUCKET not in s3.buckets:
        s3.create_bucket(BUCKET, BUCKET_REGION)
        # moto stores the x-amz-object-ownership header value as-is: a string. Without it
        # the bucket would have ACLs enabled, and imports from it would be refused.
        bucket: Any = s3.buckets[BUCKET]
        bucket.ownership_rule = "BucketOwnerEnforced"
        for key, body in seeded_files():
            s3.put_object(BUCKET, key, body)
    iam = iam_backends[ACCOUNT]["aws"]
    if not any(role.name == ROLE_NAME for role in iam.roles.values()):
        iam.create_role(ROLE_NAME, json.dumps(TRUST_POLICY), "/", None, "reconcile demo", [], None)
        iam.put_role_policy(ROLE_NAME, ROLE_POLICY_NAME, json.dumps(ROLE_POLICY))
    for region, name, selectors in _STORES:
        lake = lake_backends[ACCOUNT][region]
        if store_arn(ACCOUNT, region, name) not in lake.stores:
            params: dict[str, Any] = {"Name": name, "TerminationProtectionEnabled": False}
            if selectors:
                params["AdvancedEventSelectors"] = selectors
            lake.create_event_data_store(params, ready_seconds=0)  # they exist already


def describe() -> str:
    """What `serve --seed` prints, so manifests can be written against it."""
    lines = [
        f"  bucket  s3://{BUCKET} ({BUCKET_REGION}, BucketOwnerEnforced)",
        f"          single-account trail: {SINGLE_ACCOUNT_URI}",
        f"          organization trail:   {ORGANIZATION_URI}",
        f"          logs from {SEEDED_START:%Y-%m-%dT%H:%MZ} to {SEEDED_END:%Y-%m-%dT%H:%MZ} "
        f"(exclusive), {FILES_PER_HOUR} files per hour per account and Region",
        f"  role    {ROLE_ARN}",
        f"  store   {MANAGEMENT_STORE_ARN}  ({MANAGEMENT_STORE_NAME})",
        f"  store   {WEST_STORE_ARN}  ({WEST_STORE_NAME})",
        f"  store   {CONFIG_STORE_ARN}  ({CONFIG_STORE_NAME}: Config, imports refuse it)",
    ]
    return "\n".join(lines)
