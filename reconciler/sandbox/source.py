"""Which S3 objects an import reads: URI parsing, the `CloudTrail` prefix rule, time range.

Pure functions (no moto), so the rules in DOMAIN.md "Source layout" and "Sandbox choices" are
tested on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")
# The delivery time in a trail file name: ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
_FILE_TIME = re.compile(r"_(\d{8}T\d{4})Z_[^/]*$")
TRAIL_COMPONENT = "CloudTrail"


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or a key prefix as written (may or may not end in "/")

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_s3_uri(uri: str) -> S3Location | None:
    """`s3://bucket[/prefix]` or None when the URI has another shape."""
    match = _URI.match(uri)
    if match is None:
        return None
    return S3Location(match["bucket"], match["prefix"] or "")


def file_time(key: str) -> datetime | None:
    """The delivery time (minute precision, UTC) from a trail file name, if it has one."""
    match = _FILE_TIME.search(key)
    if match is None:
        return None
    try:
        return datetime.strptime(match[1], "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def _names_trail_prefix(prefix: str) -> bool:
    """True when the URI itself names a `CloudTrail...` prefix: then it is imported whole
    (that is how one imports a non-default prefix such as `CloudTrail-Insight`)."""
    return any(part.startswith(TRAIL_COMPONENT) for part in prefix.split("/")[:-1])


def is_trail_key(prefix: str, key: str) -> bool:
    """Whether an object under `prefix` is read by default: some directory of the key (below
    the prefix or in it) is exactly `CloudTrail`; `CloudTrail-Digest` and friends are not."""
    if not key.startswith(prefix) or key.endswith("/"):
        return False
    directories = key.split("/")[:-1]
    if TRAIL_COMPONENT in directories:
        return True
    return _names_trail_prefix(prefix)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def in_time_range(key: str, start: datetime | None, end: datetime | None) -> bool:
    """Closed range at minute precision on the file-name time; a missing bound is open.
    A key without a file-name time is kept only when no bound is given."""
    if start is None and end is None:
        return True
    moment = file_time(key)
    if moment is None:
        return False
    if start is not None and moment < _minute(start):
        return False
    return not (end is not None and moment > _minute(end))


def directory_of(key: str) -> str:
    """The `prefix` a file belongs to, for the PrefixesFound/PrefixesCompleted statistics."""
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""
