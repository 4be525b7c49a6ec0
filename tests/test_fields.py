"""Time parsing and value checks, case by case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler.fields import (
    FieldProblem,
    check_event_data_store_arn,
    check_import_id,
    check_region,
    check_role_arn,
    check_s3_uri,
    parse_event_time,
)

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T00:00:00Z", JAN_1),
        ("2024-01-01T00:00:00z", JAN_1),
        ("2024-01-01T01:00:00+01:00", JAN_1),
        ("2023-12-31T19:00:00-05:00", JAN_1),
        ("2024-01-01", JAN_1),
        (date(2024, 1, 1), JAN_1),
        (datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), JAN_1),
        (1704067200, JAN_1),
        ("1704067200", JAN_1),
        ("2024-01-01T00:00:00.000Z", JAN_1),
    ],
)
def test_times_accepted(value: Any, expected: datetime) -> None:
    parsed = parse_event_time(value)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024-01-01T00:00:00", "has no time zone; botocore would read it as UTC"),
        (datetime(2024, 1, 1), "has no time zone"),
        ("2024-01-01 00:00", "has no time zone"),
        ("1970-01-01T00:00:00", "Add 'Z'"),
        (1704067200000, "looks like milliseconds"),
        (-5, "out of range"),
        (True, "not a boolean"),
        ("yesterday", "is not a time"),
        ("", "is not a time"),
        (1.5, "must be an ISO 8601 time"),
        ("2026-01-07T00:00:00.500Z", "fraction of a second"),
        (datetime(2026, 1, 7, 0, 0, 0, 500, tzinfo=UTC), "fraction of a second"),
        (None, "must be an ISO 8601 time"),
    ],
)
def test_times_rejected(value: Any, fragment: str) -> None:
    with pytest.raises(FieldProblem) as caught:
        parse_event_time(value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            check_event_data_store_arn,
            [
                "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-0000",
                "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:eventdatastore/abc",
                "arn:aws-cn:cloudtrail:cn-north-1:123456789012:eventdatastore/abc",
            ],
            [
                "",
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/x",
                "arn:aws:cloudtrail:us-east-1:12345678901:eventdatastore/abc",
                "arn:aws:cloudtrail::123456789012:eventdatastore/abc",
                "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/",
                " arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/abc",
            ],
        ),
        (
            check_role_arn,
            [
                "arn:aws:iam::123456789012:role/LakeImport",
                "arn:aws:iam::123456789012:role/service-role/path/Name+=,.@-_",
            ],
            ["", "arn:aws:iam::123456789012:user/x", "arn:aws:iam:us-east-1:123456789012:role/x"],
        ),
        (
            check_region,
            ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5"],
            ["", "US-EAST-1", "useast1", "us-east"],
        ),
        (
            check_s3_uri,
            ["s3://trail-logs", "s3://trail-logs/", "s3://a.b-c/AWSLogs/o-1/", "s3://abc/x"],
            ["", "s3://", "s3://ab/", "s3://Upper/", "s3://bad_bucket/", "s3://192.168.1.1/",
             "s3://a..b/", "https://b/x", "s3://bucket//double", "s3://-bucket/"],
        ),
        (
            check_import_id,
            ["0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", ""],
            ["0E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B", "1234", "0e1f2a3b4c5d4e6f8a9b0c1d2e3f4a5b"],
        ),
    ],
)  # fmt: skip
def test_value_checks(check: Any, good: list[str], bad: list[str]) -> None:
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises(FieldProblem):
            check(value)
