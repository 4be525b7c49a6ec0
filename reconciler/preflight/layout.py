"""Which log files an import would select, found by listing only the prefixes its range covers.

CloudTrail lays trail files out as `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`
`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz` (DOMAIN.md, "Source layout"). Below a
Region, keys sort in time order, so one listing per calendar year covers the whole range: the
first year starts after the range's first minute (`StartAfter`), the last stops at the first
key past its end, and the years between are listed whole. Above the dates, a delimiter listing
per level finds the organizations, accounts and Regions. The bucket is never listed whole.

An import selects a file when its file-name time t satisfies start <= t <= end at minute
precision (a missing bound is open), as the sandbox does (DOMAIN.md, "Sandbox choices").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.ports import ListPage, S3Object

# list(prefix, delimiter, start_after) -> its pages, fetched lazily (stopping early saves calls)
Lister = Callable[[str, bool, str | None], Iterator[ListPage]]

_FILE_TIME = re.compile(r"_(\d{8}T\d{4})Z_[^/]*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_YEAR = re.compile(r"^\d{4}$")
_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?:/(?P<prefix>.*))?$")
ROOT_SEARCH_DEPTH = 2  # prefixes searched for AWSLogs/ below a URI that does not name it
ROOT_SEARCH_WIDTH = 100  # at most this many child prefixes per searched level
ROOT_SEARCH_CALLS = 50  # and at most this many folder listings in all, above AWSLogs/


@dataclass(frozen=True)
class Source:
    bucket: str
    prefix: str  # as written: "", a folder ("logs/"), or a raw key prefix ("logs")


def parse_source(uri: str) -> Source | None:
    match = _URI.match(uri)
    if match is None:
        return None
    return Source(match["bucket"], match["prefix"] or "")


def file_time(key: str) -> datetime | None:
    """The delivery time (minute precision, UTC) in a trail file's name, if it has one.

    The sandbox has its own copy of this rule (sandbox/source.py) on purpose: it stands in for
    AWS, and the tests compare preflight's count with what the sandbox's imports read."""
    match = _FILE_TIME.search(key)
    if match is None:
        return None
    try:
        return datetime.strptime(match[1], "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def _minute(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Range:
    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None) -> Range:
        return cls(_minute(start), _minute(end))

    def holds(self, moment: datetime) -> bool:
        return not (
            (self.start is not None and moment < self.start)
            or (self.end is not None and moment > self.end)
        )

    def past(self, moment: datetime) -> bool:
        return self.end is not None and moment > self.end

    def years(self, found: list[int]) -> list[int]:
        return [
            year
            for year in found
            if (self.start is None or year >= self.start.year)
            and (self.end is None or year <= self.end.year)
        ]


@dataclass
class Selection:
    """What a walk found; `incomplete` says where it stopped short (then counts are a floor)."""

    files: list[S3Object]
    incomplete: list[str]


def select_files(
    source: Source, start: datetime | None, end: datetime | None, lister: Lister
) -> Selection:
    """The log files an import of `source` over [start, end] would read, in key order."""
    walk = _Walk(Range.of(start, end), lister)
    files = list(walk.level(source.prefix, _level_of(source.prefix)))
    return Selection(files, walk.incomplete)


# Levels of the layout, from the URI's own prefix down to the files.
ROOT, AWSLOGS, ORG, ACCOUNT, TRAIL, REGION, YEAR, DEEPER = (
    "root", "awslogs", "org", "account", "trail", "region", "year", "deeper"
)  # fmt: skip


def _level_of(prefix: str) -> str:
    """Where in the layout a URI's prefix points. A raw key prefix (not ending in `/`) is
    searched like the bucket's top: its child folders are what it names."""
    if prefix and not prefix.endswith("/"):
        return ROOT
    parts = [part for part in prefix.split("/") if part]
    if "AWSLogs" not in parts:
        return ROOT
    below = parts[len(parts) - 1 - parts[::-1].index("AWSLogs") + 1 :]
    levels = [AWSLOGS]
    for part in below:
        current = levels[-1]
        if current == AWSLOGS:
            levels.append(ORG if part.startswith("o-") else ACCOUNT)
        elif current == ORG:
            levels.append(ACCOUNT)
        elif current == ACCOUNT:
            levels.append(TRAIL)
        elif current == TRAIL:
            levels.append(REGION)
        elif current == REGION:
            levels.append(YEAR)
        else:
            levels.append(DEEPER)
    return levels[-1]


def _name(child: str) -> str:
    return child.rstrip("/").rsplit("/", 1)[-1]


class _Walk:
    def __init__(self, window: Range, lister: Lister) -> None:
        self.window = window
        self.lister = lister
        self.incomplete: list[str] = []
        self.searched = 0

    def _children(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self.lister(prefix, True, None):
            found.extend(page.prefixes)
        return found

    def level(self, prefix: str, level: str, depth: int = 0) -> Iterator[S3Object]:
        if level == ROOT:
            yield from self._search(prefix, depth)
        elif level == AWSLOGS:
            for child in self._children(prefix):
                name = _name(child)
                if name.startswith("o-"):
                    yield from self.level(child, ORG)
                elif _ACCOUNT.match(name):
                    yield from self.level(child, ACCOUNT)
        elif level == ORG:
            for child in self._children(prefix):
                if _ACCOUNT.match(_name(child)):
                    yield from self.level(child, ACCOUNT)
        elif level == ACCOUNT:
            yield from self.level(f"{prefix}CloudTrail/", TRAIL)
        elif level == TRAIL:
            for child in self._children(prefix):
                yield from self.level(child, REGION)
        elif level == REGION:
            found = [_name(c) for c in self._children(prefix)]
            years = sorted(int(name) for name in found if _YEAR.match(name))
            for year in self.window.years(years):
                yield from _year(f"{prefix}{year}/", year, self.window, self.lister)
        elif level == YEAR:
            name = _name(prefix)
            if not _YEAR.match(name):
                return
            if self.window.years([int(name)]):
                yield from _year(prefix, int(name), self.window, self.lister)
        else:  # below a year: listed as one span, stopped at the range's end
            yield from _span(prefix, None, self.window, self.lister)

    def _search(self, prefix: str, depth: int) -> Iterator[S3Object]:
        """Above AWSLogs/: every child folder may hold a trail (the sandbox, like the import,
        reads any key below the URI in a CloudTrail folder), searched to a bounded depth."""
        self.searched += 1
        if self.searched > ROOT_SEARCH_CALLS:
            self.incomplete.append(f"{prefix} was not searched ({ROOT_SEARCH_CALLS} folders were)")
            return
        children = self._children(prefix)
        for child in children[:ROOT_SEARCH_WIDTH]:
            level = AWSLOGS if _name(child) == "AWSLogs" else _level_of(child)
            if level != ROOT:
                yield from self.level(child, level)
            elif depth < ROOT_SEARCH_DEPTH:
                yield from self._search(child, depth + 1)
            else:
                self.incomplete.append(f"{child} is deeper than {ROOT_SEARCH_DEPTH} folders")
        if len(children) > ROOT_SEARCH_WIDTH:
            self.incomplete.append(
                f"{prefix or 'the bucket'} has {len(children):,} folders; the first "
                f"{ROOT_SEARCH_WIDTH} were searched"
            )


def _year(prefix: str, year: int, window: Range, lister: Lister) -> Iterator[S3Object]:
    """The year's files in the window, from the narrowest prefix that still covers them: the
    day or the month when the window lies inside one, else the year."""
    narrowed = prefix
    start, end = window.start, window.end
    same_year = start is not None and end is not None and start.year == end.year == year
    if same_year and start is not None and end is not None and start.month == end.month:
        narrowed += f"{start:%m}/"
        if start.day == end.day:
            narrowed += f"{start:%d}/"
    start_after = None
    if start is not None and start.year == year:
        start_after = _first_key_before(prefix, start)
    yield from _span(narrowed, start_after, window, lister)


def _first_key_before(year_prefix: str, start: datetime) -> str:
    """A key just before the range's first file in this year: `YYYY/MM/DD/` and then a name
    that sorts before every file of that minute (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ`
    without its `_UNIQUE` suffix). Account and Region come from the prefix itself."""
    parts = year_prefix.rstrip("/").split("/")
    region, trail, account = parts[-2], parts[-3], parts[-4]  # trail: CloudTrail, or -Insight
    day = start.strftime("%m/%d/")
    return f"{year_prefix}{day}{account}_{trail}_{region}_{start.strftime('%Y%m%dT%H%M')}Z"


def _span(
    prefix: str, start_after: str | None, window: Range, lister: Lister
) -> Iterator[S3Object]:
    """Files under `prefix` in time order; stops fetching pages at the first one past the end."""
    for page in lister(prefix, False, start_after):
        for item in page.objects:
            moment = file_time(item.key)
            if moment is None:
                continue
            if window.past(moment):
                return
            if window.holds(moment):
                yield item


# Entries of one source whose ranges overlap or lie this close are listed as one span: a
# series of adjacent imports (a month each, say) then costs one walk, not one per entry.
MERGE_GAP = timedelta(days=1)
Window = tuple[datetime | None, datetime | None]


def merged_windows(windows: list[Window]) -> dict[Window, Window]:
    """Each window -> the union of the windows it overlaps or nearly touches (None is open)."""
    low = datetime.min.replace(tzinfo=UTC)
    high = datetime.max.replace(tzinfo=UTC)
    ordered = sorted(set(windows), key=lambda w: (w[0] or low, w[1] or high))
    groups: list[tuple[list[Window], datetime | None, datetime | None]] = []
    for window in ordered:
        start, end = window
        if groups:
            members, group_start, group_end = groups[-1]
            reach = high if group_end is None else group_end + MERGE_GAP
            if (start or low) <= reach:
                later = None if end is None or group_end is None else max(end, group_end)
                groups[-1] = ([*members, window], group_start, later)
                continue
        groups.append(([window], start, end))
    return {member: (start, end) for members, start, end in groups for member in members}


class TimedFiles:
    """Listed files in time order, so each entry of a merged span takes its own in O(log n)."""

    def __init__(self, files: list[S3Object]) -> None:
        timed = sorted(
            ((moment, item) for item in files if (moment := file_time(item.key)) is not None),
            key=lambda pair: (pair[0], pair[1].key),
        )
        self.times = [moment for moment, _ in timed]
        self.files = [item for _, item in timed]

    def within(self, start: datetime | None, end: datetime | None) -> list[S3Object]:
        window = Range.of(start, end)
        low = 0 if window.start is None else bisect.bisect_left(self.times, window.start)
        high = (
            len(self.times) if window.end is None else bisect.bisect_right(self.times, window.end)
        )
        return self.files[low:high]
