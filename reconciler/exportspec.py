"""The desired export after loading: one CloudWatch Logs import task from an event data store.

The way out of CloudTrail Lake (DOMAIN.md, "Money and duplicates"): `CreateImportTask` copies
a store's events in an eventTime range into the log group AWS names after the store. Like an
import's, an export's identity says what would be copied twice if it ran twice: (source store
ARN, start, end), times in UTC to the millisecond (the API's unit). The role is an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from reconciler.fields import arn_parts, format_time_ms
from reconciler.spec import SourceLocation

# An average CloudTrail event as JSON (most are 1-2 KiB): what estimates from bytes assume.
BYTES_PER_EVENT = 1_500


@dataclass(frozen=True, order=True)
class ExportIdentity:
    source: str  # event data store ARN
    start: datetime | None
    end: datetime | None

    def range_text(self) -> str:
        start = format_time_ms(self.start) if self.start else "(open)"
        end = format_time_ms(self.end) if self.end else "(open)"
        return f"{start} .. {end}"

    def describe(self) -> str:
        return f"{self.source} [{self.range_text()}] -> CloudWatch Logs"

    def meets(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether this closed range and [start, end] share a moment (None: open)."""
        return ranges_meet(self.start, self.end, start, end)


def ranges_meet(
    a_start: datetime | None,
    a_end: datetime | None,
    b_start: datetime | None,
    b_end: datetime | None,
) -> bool:
    """Closed ranges (None: open) share a moment: touching ends meet."""
    starts = [moment for moment in (a_start, b_start) if moment is not None]
    ends = [moment for moment in (a_end, b_end) if moment is not None]
    return not starts or not ends or max(starts) <= min(ends)


@dataclass(frozen=True)
class ExportSpec:
    section: ClassVar[str] = "exports"  # the manifest list it comes from

    name: str
    source: str
    role_arn: str | None  # None only for an entry pinned to an existing task (adopted)
    start: datetime | None
    end: datetime | None
    location: SourceLocation
    import_id: str | None = None  # explicit adoption of an existing import task
    allow_overlap: bool = False
    fills: str | None = None  # the FAILED export whose missing days this one copies
    identity: ExportIdentity = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", ExportIdentity(self.source, self.start, self.end))

    @property
    def account(self) -> str:
        return arn_parts(self.source)[0]

    @property
    def region(self) -> str:
        return arn_parts(self.source)[1]


def log_group_of(source: str, destination_arn: str | None = None) -> str:
    """The log group an export of `source` writes to: the task's own destination when AWS
    reported one, else the name AWS gives it (`aws/cloudtrail/<store ID>`)."""
    if destination_arn and ":log-group:" in destination_arn:
        return destination_arn.split(":log-group:", 1)[1].removesuffix(":*")
    return "aws/cloudtrail/" + source.rsplit("/", 1)[-1]


def log_group_arn(source: str) -> str:
    """The ARN of the log group AWS names for exports of `source`."""
    account, region = arn_parts(source)
    return f"arn:aws:logs:{region}:{account}:log-group:{log_group_of(source)}"
