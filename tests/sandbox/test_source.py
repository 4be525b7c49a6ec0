"""The pure source rules: URI shape, the CloudTrail prefix rule, the closed minute range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.sandbox.source import file_time, in_time_range, is_trail_key, parse_s3_uri

KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/"
    "123456789012_CloudTrail_us-east-1_20260105T0105Z_abcdefghijklmnop.json.gz"
)
DIGEST = (
    "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/05/"
    "123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20260105T005900Z.json.gz"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [("s3://my-bucket", "my-bucket", ""), ("s3://my-bucket/a/b/", "my-bucket", "a/b/")],
)
def test_parse_s3_uri(uri: str, bucket: str, prefix: str) -> None:
    location = parse_s3_uri(uri)
    assert location is not None
    assert (location.bucket, location.prefix) == (bucket, prefix)


@pytest.mark.parametrize("uri", ["my-bucket/x", "s3:/b", "https://b.s3.amazonaws.com/", "s3://UP"])
def test_parse_s3_uri_rejects_other_shapes(uri: str) -> None:
    assert parse_s3_uri(uri) is None


def test_file_time_is_the_delivery_minute() -> None:
    assert file_time(KEY) == utc(2026, 1, 5, 1, 5)
    assert file_time("notes.txt") is None


def test_default_prefix_rule_keeps_cloudtrail_only() -> None:
    assert is_trail_key("", KEY)
    assert is_trail_key("AWSLogs/", KEY)
    assert not is_trail_key("", DIGEST)
    assert not is_trail_key("AWSLogs/", "AWSLogs/123456789012/Config/x.json.gz")
    assert not is_trail_key("other/", KEY)


def test_naming_a_sibling_prefix_imports_it() -> None:
    assert is_trail_key("AWSLogs/123456789012/CloudTrail-Digest/", DIGEST)


def test_range_is_closed_at_minute_precision() -> None:
    t = utc(2026, 1, 5, 1, 5)
    assert in_time_range(KEY, t, t)
    assert in_time_range(KEY, utc(2026, 1, 5, 1, 5, 59), utc(2026, 1, 5, 1, 5, 1))
    assert not in_time_range(KEY, utc(2026, 1, 5, 1, 6), None)
    assert not in_time_range(KEY, None, utc(2026, 1, 5, 1, 4, 59))
    assert in_time_range(KEY, None, None)
    assert not in_time_range("CloudTrail/notes.txt", t, None)
