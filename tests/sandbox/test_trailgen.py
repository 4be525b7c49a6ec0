"""The trail log generator: real layout, usual fields, deterministic."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime

from reconciler.sandbox.trailgen import TrailSpec, generate

SPEC = TrailSpec(
    accounts=("123456789012",), regions=("us-east-1", "eu-west-1"),
    start=datetime(2026, 1, 5, tzinfo=UTC), end=datetime(2026, 1, 5, 3, tzinfo=UTC),
    files_per_hour=3, records_per_file=4, digests=True, seed=3,
)  # fmt: skip
NAME = re.compile(
    r"^AWSLogs/123456789012/CloudTrail/(?P<r>[a-z0-9-]+)/2026/01/05/"
    r"123456789012_CloudTrail_(?P=r)_20260105T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


def test_layout_and_fields() -> None:
    files = list(generate(SPEC))
    trail = [(k, b) for k, b in files if "/CloudTrail/" in k]
    assert len(trail) == 2 * 3 * 3
    assert all(NAME.match(key) for key, _ in trail)
    assert all("/CloudTrail-Digest/" in k for k, _ in files if (k, _) not in trail)
    records = json.loads(gzip.decompress(trail[0][1]))["Records"]
    assert len(records) == 4
    for field in ("eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID",
                  "userIdentity", "sourceIPAddress", "userAgent", "eventType",
                  "recipientAccountId", "requestParameters", "responseElements"):  # fmt: skip
        assert field in records[0]


def test_deterministic_from_seed() -> None:
    assert list(generate(SPEC)) == list(generate(SPEC))
    other = TrailSpec(**{**SPEC.__dict__, "seed": 4})
    assert list(generate(other)) != list(generate(SPEC))


def test_organization_layout() -> None:
    spec = TrailSpec(**{**SPEC.__dict__, "organization_id": "o-abc", "digests": False})
    keys = [key for key, _ in generate(spec)]
    assert all(key.startswith("AWSLogs/o-abc/123456789012/CloudTrail/") for key in keys)
