"""Checks of a manifest's field values, each with the message a user needs.

Every check raises `FieldProblem` (a ValueError) whose message reads as a sentence about the
value ("must be an event data store ARN like ..."). This module imports no pydantic: the
manifest fast path (manifest/fastpath.py) and saved-plan checks call these directly, and
manifest/fieldtypes.py wraps the same functions as pydantic field types, so both agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-[a-z])?"
REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}"
ACCOUNT = r"\d{12}"

REGION_RE = re.compile(rf"^{REGION}$")
EVENT_DATA_STORE_ARN_RE = re.compile(
    rf"^arn:(?P<partition>{PARTITION}):cloudtrail:(?P<region>{REGION}):(?P<account>{ACCOUNT})"
    r":eventdatastore/(?P<id>[A-Za-z0-9_.\-]{3,128})$"
)
ROLE_ARN_RE = re.compile(
    rf"^arn:(?P<partition>{PARTITION}):iam::(?P<account>{ACCOUNT}):role/"
    r"(?:[\w+=,.@\-]+/)*[\w+=,.@\-]{1,64}$"
)
# Bucket names: 3-63 chars, lower-case letters, digits, dots and hyphens, starting and ending
# with a letter or digit, no "..", not shaped like an IP address (S3 bucket naming rules).
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
IP_LIKE_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
IMPORT_ID_RE = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
EXPORT_TASK_ID_RE = re.compile(r"^[\-a-zA-Z0-9]{1,256}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")

# Epoch seconds beyond this are almost surely milliseconds pasted from a log or a console.
MAX_EPOCH_SECONDS = 4_102_444_800  # 2100-01-01T00:00:00Z

EXAMPLE_EDS_ARN = "arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID"


class FieldProblem(ValueError):
    """A value a manifest field cannot take; `kind` names the check (as pydantic's error type)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _fail(kind: str, message: str) -> FieldProblem:
    return FieldProblem(kind, message)


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _fail("type", f"must be {what}, a string; got {type(value).__name__} {value!r}")
    return value


def check_event_data_store_arn(value: Any) -> str:
    text = _require_str(value, "an event data store ARN")
    if not EVENT_DATA_STORE_ARN_RE.match(text):
        raise _fail(
            "arn",
            f"must be an event data store ARN like {EXAMPLE_EDS_ARN}; got {text!r}",
        )
    return text


def check_role_arn(value: Any) -> str:
    text = _require_str(value, "an IAM role ARN")
    if not ROLE_ARN_RE.match(text):
        raise _fail(
            "arn", f"must be an IAM role ARN like arn:aws:iam::ACCOUNT:role/NAME; got {text!r}"
        )
    return text


def check_region(value: Any) -> str:
    text = _require_str(value, "a Region name")
    if not REGION_RE.match(text):
        raise _fail("region", f"must be a Region name like us-east-1; got {text!r}")
    return text


MAX_S3_KEY = 1024  # S3's limit on a key, and so on a prefix
MAX_S3_URI = len("s3://") + 63 + 1 + MAX_S3_KEY


def check_s3_uri(value: Any) -> str:
    """`s3://bucket[/prefix]`, kept exactly as written: it is part of an import's identity."""
    text = _require_str(value, "an S3 URI")
    prefix = text.split("/", 3)[3] if text.count("/") >= 3 else ""
    if len(text) > MAX_S3_URI or len(prefix.encode()) > MAX_S3_KEY:
        raise _fail(
            "s3_uri",
            f"S3 URI of {len(text):,} characters ({text[:40]!r}...) is too long: an S3 prefix "
            f"has at most {MAX_S3_KEY:,} bytes",
        )
    if not text.startswith("s3://"):
        raise _fail("s3_uri", f"must be an S3 URI like s3://BUCKET/PREFIX/; got {text!r}")
    bucket = text[len("s3://") :].split("/", 1)[0]
    if not BUCKET_RE.match(bucket) or ".." in bucket or IP_LIKE_RE.match(bucket):
        raise _fail(
            "s3_uri",
            f"bucket name {bucket!r} in {text!r} is not a valid S3 bucket name "
            "(3-63 lower-case letters, digits, dots and hyphens)",
        )
    if "//" in text[len("s3://") :] or any(c in text for c in "\\\n\r\t"):
        raise _fail("s3_uri", f"S3 URI {text!r} has an empty path segment or a control character")
    return text


def check_name(value: Any) -> str:
    text = _require_str(value, "a name")
    if not NAME_RE.match(text):
        raise _fail(
            "name",
            "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit; "
            f"got {text!r}",
        )
    return text


def check_import_id(value: Any) -> str | None:
    """An explicit pin to an existing import; the skeleton's empty string means "no pin"."""
    if value is None or value == "":
        return None
    text = _require_str(value, "an ImportId")
    if not IMPORT_ID_RE.match(text):
        raise _fail(
            "import_id",
            f"must be an ImportId (a lower-case UUID, 36 characters); got {text!r}",
        )
    return text


def check_export_task_id(value: Any) -> str | None:
    """A pin to an existing CloudWatch Logs import task (its importId)."""
    if value is None or value == "":
        return None
    text = _require_str(value, "an importId")
    if not EXPORT_TASK_ID_RE.match(text):
        raise _fail(
            "import_id",
            f"must be a CloudWatch Logs importId (1-256 letters, digits and '-'); got {text!r}",
        )
    return text


def parse_epoch_ms(value: Any) -> datetime:
    """The CloudWatch Logs API's times: whole milliseconds since the epoch -> aware UTC."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("time", f"must be milliseconds since the epoch (an integer); got {value!r}")
    if value < 0 or value > MAX_EPOCH_SECONDS * 1000:
        raise _fail("time_range", f"epoch milliseconds {value} is out of range")
    if 0 < value < 100_000_000_000:  # before 1973 in ms, but 1973-5138 in seconds
        raise _fail(
            "time_range",
            f"{value} looks like epoch seconds; the CloudWatch Logs API counts milliseconds "
            "(multiply by 1000)",
        )
    return datetime.fromtimestamp(value // 1000, UTC) + timedelta(milliseconds=value % 1000)


def parse_export_time(value: Any) -> datetime:
    """An export's friendly time: as an import's, but milliseconds are allowed (the
    CloudWatch Logs filter counts them; an end of 23:59:59.999 is common)."""
    if isinstance(value, str) and "." in value:
        text = value.strip()
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            parsed = datetime.fromisoformat(iso)
        except ValueError:
            return parse_event_time(value)  # its error names the accepted forms
        if parsed.tzinfo is None:
            raise _zone_missing(text)
        if parsed.microsecond % 1000:
            raise _fail(
                "time_fraction",
                f"{value!r} is finer than a millisecond; the CloudWatch Logs filter counts "
                "whole milliseconds",
            )
        return parsed.astimezone(UTC)
    return parse_event_time(value)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def format_time_ms(moment: datetime) -> str:
    """As `format_time`, with the milliseconds when there are any (export filters)."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return format_time(utc)


def _zone_missing(shown: str) -> FieldProblem:
    return _fail(
        "time_zone",
        f"time {shown!r} has no time zone; botocore would read it as UTC. Add 'Z' "
        "(or an offset such as +02:00) to say which time you mean, e.g. "
        f"{shown.replace(' ', 'T')}Z",
    )


def _from_epoch(seconds: int) -> datetime:
    if seconds < 0 or seconds > MAX_EPOCH_SECONDS:
        hint = " (it looks like milliseconds: divide by 1000)" if seconds > 0 else ""
        raise _fail("time_range", f"epoch seconds {seconds} is out of range{hint}")
    return datetime.fromtimestamp(seconds, UTC)


def parse_event_time(value: Any) -> datetime:
    """ISO 8601 with Z or an offset, a bare date (midnight UTC), or epoch seconds -> aware UTC."""
    if isinstance(value, bool):
        raise _fail("time", f"must be a time, not a boolean ({value})")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _zone_missing(value.isoformat())
        text = value.isoformat()  # checked below like any written time (fractions included)
    elif isinstance(value, date):
        return datetime.combine(value, time(0), UTC)
    elif isinstance(value, int):
        return _from_epoch(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise _fail("time", f"must be an ISO 8601 time, a date or epoch seconds; got {value!r}")
    if text.isdigit():
        return _from_epoch(int(text))
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise _fail(
            "time",
            f"{value!r} is not a time: use ISO 8601 with a zone (2024-01-01T00:00:00Z), "
            "a date (2024-01-01), or epoch seconds",
        ) from None
    if len(text) == 10 and parsed.tzinfo is None and "T" not in text:
        return parsed.replace(tzinfo=UTC)  # a bare date means midnight UTC
    if parsed.tzinfo is None:
        raise _zone_missing(text)
    if parsed.microsecond:
        raise _fail(
            "time_fraction",
            f"{value!r} has a fraction of a second; times are kept to the second (CloudTrail "
            "matches log-file times to the minute), so drop the fraction",
        )
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """The one way times are shown to users and stored: UTC with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The inverse of `format_time`, for times we stored (state, plan files, lock records)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def one_second_before(moment: datetime) -> datetime:
    return moment - timedelta(seconds=1)


def one_second_after(moment: datetime) -> datetime:
    return moment + timedelta(seconds=1)


@lru_cache(maxsize=8192)
def arn_parts(arn: str) -> tuple[str, str]:
    """(account, region) of a validated event data store ARN. Cached: a plan asks it of the
    same few store ARNs for every entry and import, again on each of apply's re-plans."""
    match = EVENT_DATA_STORE_ARN_RE.match(arn)
    if match is None:
        raise ValueError(f"not an event data store ARN: {arn}")
    return match["account"], match["region"]
