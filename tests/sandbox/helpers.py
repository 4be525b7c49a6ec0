"""Helpers for the sandbox tests: start imports, wait for them, check botocore shapes."""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime
from typing import Any

from botocore.model import Shape

from reconciler.sandbox import seed
from reconciler.sandbox.trailgen import TrailSpec, generate

ROLE = seed.ROLE_ARN
STORE = seed.MANAGEMENT_STORE_ARN
SINGLE = seed.SINGLE_ACCOUNT_URI


def source(uri: str = SINGLE, region: str = "us-east-1", role: str = ROLE) -> dict[str, Any]:
    return {"S3": {"S3LocationUri": uri, "S3BucketRegion": region, "S3BucketAccessRoleArn": role}}


def start(client: Any, uri: str = SINGLE, store: str = STORE, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = client.start_import(
        Destinations=[store], ImportSource=source(uri, role=extra.pop("role", ROLE)), **extra
    )
    return response


def wait_finished(client: Any, import_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = client.get_import(ImportId=import_id)
        if found["ImportStatus"] not in ("INITIALIZING", "IN_PROGRESS"):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} still {found['ImportStatus']}")
        time.sleep(0.02)


def error_code(excinfo: Any) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def trail_file(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


ENFORCED = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def trail_bucket(s3: Any, bucket: str, region: str = "us-east-1") -> None:
    """Create a bucket imports accept: ACLs disabled (without ownership controls a bucket
    has ACLs enabled, and StartImport refuses it)."""
    extra = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=bucket, **extra)
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=ENFORCED)


def small_trail(
    s3: Any, bucket: str, start: datetime, end: datetime, prefix: str = "", seed_value: int = 7
) -> list[str]:
    """Write a small generated single-account trail into `bucket`; return the keys."""
    spec = TrailSpec(
        accounts=(seed.ACCOUNT,), regions=("us-east-1",), start=start, end=end,
        files_per_hour=2, records_per_file=3, prefix=prefix, digests=True, seed=seed_value,
    )  # fmt: skip
    keys = []
    for key, body in generate(spec):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        keys.append(key)
    return keys


def shape_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Where `value` (a parsed botocore response) departs from `shape`, enums included."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected structure"]
        found = [
            f"{path}.{name}: not in shape {shape.name}"
            for name in value
            if name not in shape.members and name != "ResponseMetadata"
        ]
        for name in getattr(shape, "required_members", []):
            if name not in value:
                found.append(f"{path}.{name}: required")
        for name, member in shape.members.items():
            if name in value:
                found += shape_errors(value[name], member, f"{path}.{name}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        member = shape.member  # type: ignore[attr-defined]
        return [
            e for i, item in enumerate(value) for e in shape_errors(item, member, f"{path}[{i}]")
        ]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string"]
        enum = shape.metadata.get("enum")
        return [f"{path}: {value!r} not in {enum}"] if enum and value not in enum else []
    expected = {"integer": int, "long": int, "boolean": bool, "timestamp": datetime}
    if kind in expected and not isinstance(value, expected[kind]):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    return []


def check_shape(client: Any, operation: str, response: dict[str, Any]) -> None:
    shape = client.meta.service_model.operation_model(operation).output_shape
    assert shape_errors(response, shape) == []
