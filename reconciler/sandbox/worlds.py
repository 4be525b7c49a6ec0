"""Ready-made worlds for tests and benchmarks: many finished imports, their manifest and state.

`managed_world` bulk-inserts COMPLETED imports through the sandbox's test hook and writes a
manifest with one entry per import and a state whose records hold them as final, as after
many applies, without running thousands of imports.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reconciler.sandbox import seed
from reconciler.sandbox.trailgen import TrailSpec, generate
from reconciler.spec import Identity
from reconciler.state.document import ImportRecord, StateDocument
from reconciler.state.local import LocalStateStore

FIRST_DAY = datetime(2000, 1, 1, tzinfo=UTC)


def hook(endpoint_url: str, name: str, body: dict[str, Any]) -> Any:
    """POST a JSON body to the sandbox's /_reconcile/NAME hook."""
    request = urllib.request.Request(
        f"{endpoint_url}/_reconcile/{name}", data=json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def _day(index: int) -> tuple[datetime, datetime]:
    start = FIRST_DAY + timedelta(days=index)
    return start, start + timedelta(hours=23, minutes=59, seconds=59)


def managed_world(endpoint_url: str, folder: Path, count: int) -> tuple[str, str]:
    """(manifest directory, state path) for `count` managed COMPLETED imports, one day each."""
    store = seed.MANAGEMENT_STORE_ARN
    ids = hook(endpoint_url, "bulk-imports", {"count": count, "destination": store})["ImportIds"]
    manifest = folder / f"manifests-{count}" / "many.yaml"
    manifest.parent.mkdir(parents=True)
    lines = [
        "version: 1",
        "defaults:",
        f"  destination: {store}",
        f"  source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: {seed.BUCKET_REGION}, "
        f"role_arn: '{seed.ROLE_ARN}'}}",
        "imports:",
    ]
    records = {}
    for index, import_id in enumerate(ids):
        start, end = _day(index)
        name = f"day-{index:05d}"
        lines.append(
            f"  - {{name: {name}, start_event_time: '{start:%Y-%m-%dT%H:%M:%SZ}', "
            f"end_event_time: '{end:%Y-%m-%dT%H:%M:%SZ}'}}"
        )
        records[name] = ImportRecord(
            name=name,
            manifest_file=str(manifest),
            identity=Identity(store, seed.SINGLE_ACCOUNT_URI, start, end),
            bucket_region=seed.BUCKET_REGION,
            role_arn=seed.ROLE_ARN,
            max_attempts=3,
            retry_stopped=False,
            spec_hash="",
            import_id=str(import_id),
            status="COMPLETED",
            statistics={"FilesCompleted": 1, "EventsCompleted": 10},
            final=True,
        )
    manifest.write_text("\n".join(lines) + "\n")
    state_path = folder / f"state-{count}.json"
    store_file = LocalStateStore(state_path)
    with store_file.lock("managed_world"):
        store_file.write(StateDocument.empty().with_records(MappingProxyType(records)))
    return str(manifest.parent), str(state_path)


@dataclass(frozen=True)
class AccountWorld:
    """One member account made ready for imports: its bucket, roles and event data store."""

    account: str
    region: str
    bucket: str
    store_arn: str
    import_role_arn: str  # the role CloudTrail reads the bucket with
    access_role_arn: str  # the role reconcile assumes to manage the account's imports

    @property
    def source_uri(self) -> str:
        return f"s3://{self.bucket}/AWSLogs/{self.account}/"


ACCESS_ROLE = "reconcile-access"
_TRUST_CLOUDTRAIL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _session_in(endpoint_url: str, account: str, region: str) -> Any:
    """A boto3 Session acting in `account` of the sandbox (moto keys accounts by role)."""
    import boto3

    base = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    sts = base.client("sts", endpoint_url=endpoint_url)
    # AWS Organizations puts this role in every member account; the sandbox has it too.
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="sandbox-setup",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def account_world(
    endpoint_url: str,
    account: str,
    region: str = "us-east-1",
    days: int = 1,
    files_per_hour: int = 1,
    access_role: bool = True,
) -> AccountWorld:
    """Create, in `account`: a trail bucket with `days` of logs from 2026-01-05, the import
    role, an event data store, and (unless `access_role` is False) the role reconcile
    assumes. Everything is made through the sandbox's own APIs, as a real setup would be."""
    session = _session_in(endpoint_url, account, region)
    iam = session.client("iam", endpoint_url=endpoint_url)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    cloudtrail = session.client("cloudtrail", endpoint_url=endpoint_url)
    trust = json.dumps(_TRUST_CLOUDTRAIL)
    iam.create_role(RoleName="reconcile-demo-import", AssumeRolePolicyDocument=trust)
    if access_role:  # trusted by the seeded account, where reconcile's own credentials live
        management = {"AWS": f"arn:aws:iam::{seed.ACCOUNT}:root"}
        statement = {"Effect": "Allow", "Principal": management, "Action": "sts:AssumeRole"}
        access_trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        iam.create_role(RoleName=ACCESS_ROLE, AssumeRolePolicyDocument=access_trust)
    bucket = f"reconcile-trail-{account}"
    s3.create_bucket(Bucket=bucket)
    # ACLs disabled, as imports require (a bucket without ownership controls has them on)
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    spec = TrailSpec(
        accounts=(account,),
        regions=(region,),
        start=seed.SEEDED_START,
        end=seed.SEEDED_START + timedelta(days=days),
        files_per_hour=files_per_hour,
        records_per_file=2,
        seed=int(account) % 1000,
    )
    for key, body in generate(spec):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    store = cloudtrail.create_event_data_store(
        Name=f"reconcile-{account}", TerminationProtectionEnabled=False
    )
    return AccountWorld(
        account=account,
        region=region,
        bucket=bucket,
        store_arn=store["EventDataStoreArn"],
        import_role_arn=f"arn:aws:iam::{account}:role/reconcile-demo-import",
        access_role_arn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}",
    )


def put_object(endpoint_url: str, bucket: str, key: str, body: bytes) -> None:
    """Write one object into the sandbox's S3, as the seeded account (e.g. a log file)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=seed.BUCKET_REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    client.put_object(Bucket=bucket, Key=key, Body=body)
