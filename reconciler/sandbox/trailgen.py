"""Realistic CloudTrail log files, deterministic from a seed.

Keys and names follow what CloudTrail delivers (DOMAIN.md "Source layout"):
`[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE16.json.gz`, gzip JSON `{"Records": [...]}`.
Optional digest files (`CloudTrail-Digest`) check that imports skip them.
"""

from __future__ import annotations

import gzip
import json
import random
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# (eventSource, eventName, readOnly) of common management events
_EVENTS = (
    ("iam.amazonaws.com", "ListRoles", True),
    ("iam.amazonaws.com", "GetRole", True),
    ("sts.amazonaws.com", "AssumeRole", True),
    ("s3.amazonaws.com", "ListBuckets", True),
    ("s3.amazonaws.com", "CreateBucket", False),
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "RunInstances", False),
    ("lambda.amazonaws.com", "ListFunctions20150331", True),
    ("kms.amazonaws.com", "Decrypt", True),
    ("cloudtrail.amazonaws.com", "LookupEvents", True),
    ("dynamodb.amazonaws.com", "DescribeTable", True),
    ("signin.amazonaws.com", "ConsoleLogin", False),
)
_USER_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64",
    "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1 lang/python#3.11.8",
    "AWS Internal",
    "console.amazonaws.com",
)
_USERS = ("alice", "bob", "deploy-bot", "ci-runner")


@dataclass(frozen=True)
class TrailSpec:
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    start: datetime  # first hour (UTC) with files
    end: datetime  # exclusive: no file at or after this hour
    files_per_hour: int = 2
    records_per_file: int = 5
    organization_id: str | None = None  # "o-..." for the organization-trail layout
    prefix: str = ""  # key prefix before AWSLogs/, e.g. "trails/"
    digests: bool = False
    seed: int = 0


def _hours(spec: TrailSpec) -> Iterator[datetime]:
    hour = spec.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < spec.end:
        yield hour
        hour += timedelta(hours=1)


def _base(spec: TrailSpec, account: str) -> str:
    org = f"{spec.organization_id}/" if spec.organization_id else ""
    return f"{spec.prefix}AWSLogs/{org}{account}"


def trail_key(spec: TrailSpec, account: str, region: str, delivered: datetime, unique: str) -> str:
    day = delivered.strftime("%Y/%m/%d")
    stamp = delivered.strftime("%Y%m%dT%H%MZ")
    name = f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    return f"{_base(spec, account)}/CloudTrail/{region}/{day}/{name}"


def _record(rng: random.Random, account: str, region: str, when: datetime) -> dict[str, Any]:
    source, name, read_only = rng.choice(_EVENTS)
    user = rng.choice(_USERS)
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDA" + "".join(rng.choices(string.ascii_uppercase, k=16)),
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": "AKIA" + "".join(rng.choices(string.ascii_uppercase, k=16)),
            "userName": user,
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"203.0.113.{rng.randrange(1, 255)}",
        "userAgent": rng.choice(_USER_AGENTS),
        "requestParameters": None if read_only else {"name": f"resource-{rng.randrange(1000)}"},
        "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "readOnly": read_only,
        "eventType": "AwsConsoleSignIn" if name == "ConsoleLogin" else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
    }


def _gzip_json(document: Any) -> bytes:
    return gzip.compress(json.dumps(document).encode(), compresslevel=6, mtime=0)


def generate(spec: TrailSpec) -> Iterator[tuple[str, bytes]]:
    """(key, gzip bytes) for every file the spec describes, in a stable order."""
    rng = random.Random(spec.seed)
    for account in spec.accounts:
        for region in spec.regions:
            for hour in _hours(spec):
                for index in range(spec.files_per_hour):
                    minute = 5 + index * 55 // spec.files_per_hour
                    delivered = hour + timedelta(minutes=minute)
                    unique = "".join(rng.choices(string.ascii_letters + string.digits, k=16))
                    records = [
                        _record(
                            rng,
                            account,
                            region,
                            delivered - timedelta(seconds=rng.randrange(60, 900)),
                        )
                        for _ in range(spec.records_per_file)
                    ]
                    records.sort(key=lambda record: record["eventTime"])
                    yield (
                        trail_key(spec, account, region, delivered, unique),
                        _gzip_json({"Records": records}),
                    )
                if spec.digests:
                    yield _digest(spec, account, region, hour)


def _digest(spec: TrailSpec, account: str, region: str, hour: datetime) -> tuple[str, bytes]:
    stamp = (hour + timedelta(minutes=59)).strftime("%Y%m%dT%H%M%SZ")
    day = hour.strftime("%Y/%m/%d")
    name = f"{account}_CloudTrail-Digest_{region}_management-trail_{region}_{stamp}.json.gz"
    key = f"{_base(spec, account)}/CloudTrail-Digest/{region}/{day}/{name}"
    body = {"awsAccountId": account, "digestStartTime": hour.isoformat(), "logFiles": []}
    return key, _gzip_json(body)
