"""The overlap rule's pieces, table-driven: prefixes, closed ranges, what is new, harmless
holders, and which failures a retry cannot cure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.observed import Failure
from reconciler.plan.failures import user_fixes
from reconciler.plan.overlaps import (
    Holder,
    HolderIndex,
    nested,
    overlapping,
    remainder,
    spans_overlap,
    store_key,
)
from reconciler.spec import Identity

BEFORE_20TH = datetime(2024, 1, 19, 23, 59, 59, tzinfo=UTC)
STORE = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/abc-123"


def t(day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, 0, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("s3://b/AWSLogs/", "s3://b/AWSLogs/", True),
        ("s3://b/AWSLogs", "s3://b/AWSLogs/", True),  # a trailing slash is not another prefix
        ("s3://b/AWSLogs/", "s3://b/AWSLogs/123456789012/", True),  # nested
        ("s3://b/AWSLogs/123456789012/", "s3://b/AWSLogs", True),
        ("s3://b/AWSLogs/", "s3://b/AWSLogs-old/", False),  # only at a / boundary
        ("s3://b", "s3://b/AWSLogs/", True),
        ("s3://b/x/", "s3://c/x/", False),
    ],
)
def test_nested_prefixes(a: str, b: str, expected: bool) -> None:
    assert nested(a, b) is expected
    assert nested(b, a) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((t(1), t(10)), (t(10), t(20)), True),  # closed: touching ends share a moment
        ((t(1), t(10)), (t(11), t(20)), False),
        ((None, t(10)), (t(5), None), True),  # open ends
        ((None, None), (t(5), t(6)), True),
        ((t(11), None), (None, t(10)), False),
    ],
)
def test_closed_ranges(
    a: tuple[datetime, datetime], b: tuple[datetime, datetime], expected: bool
) -> None:
    assert spans_overlap(a, b) is expected
    assert spans_overlap(b, a) is expected


@pytest.mark.parametrize(
    ("want", "taken", "expected"),
    [
        ((t(1), t(31)), [(t(1), t(15))], [(t(15, 0, 1), t(31))]),
        ((t(1), t(31)), [(t(10), t(20))], [(t(1), datetime(2024, 1, 9, 23, 59, 59, tzinfo=UTC)),
                                           (t(20, 0, 1), t(31))]),
        ((t(1), t(31)), [(None, None)], []),
        ((t(1), t(10)), [(t(11), t(20))], [(t(1), t(10))]),
        ((None, t(10)), [(t(5), None)], [(None, datetime(2024, 1, 4, 23, 59, 59, tzinfo=UTC))]),
        ((t(1), t(31)), [(t(1), t(10)), (t(20), t(31))], [(t(10, 0, 1), BEFORE_20TH)]),
    ],
)  # fmt: skip
def test_remainder_is_what_no_holder_covers(
    want: tuple[datetime, datetime], taken: list[tuple[datetime, datetime]], expected: list[object]
) -> None:
    assert remainder(want, taken) == expected


def _holder(**changes: object) -> Holder:
    values: dict[str, object] = {
        "import_id": "11111111-1111-4111-8111-111111111111",
        "name": None,
        "destination": STORE,
        "source_uri": "s3://b/AWSLogs/",
        "start": t(1),
        "end": t(31),
        "status": "COMPLETED",
        "events": 10,
    }
    values.update(changes)
    return Holder(**values)  # type: ignore[arg-type]


WANT = Identity(STORE, "s3://b/AWSLogs/123456789012/", t(15), t(20))


@pytest.mark.parametrize(
    ("holder", "overlaps"),
    [
        (_holder(), True),
        (_holder(destination="abc-123"), True),  # echoed as the store ID: the same store
        (_holder(destination=STORE.replace("abc-123", "other")), False),
        (_holder(status="FAILED", events=0), False),  # harmless: it holds nothing
        (_holder(status="STOPPED", events=0), False),
        (_holder(status="FAILED", events=None), True),  # unknown: assume it holds events
        (_holder(status="IN_PROGRESS", events=0), True),  # still importing
        (_holder(status="COMPLETED", events=0), True),  # statistics may lag: not proof
        (_holder(source_uri=None), True),  # details unreadable: may hold anything
        (_holder(start=t(21)), False),
    ],
)
def test_which_holders_block_a_start(holder: Holder, overlaps: bool) -> None:
    assert bool(overlapping(WANT, [holder])) is overlaps


def test_store_key_takes_an_id_for_its_arn() -> None:
    assert store_key(STORE) == store_key("abc-123") == "abc-123"


def _failure(error_type: str, status: str = "FAILED") -> Failure:
    return Failure("s3://b/k.json.gz", status, error_type, "...")


@pytest.mark.parametrize(
    ("types", "fixable"),
    [
        (["AccessDenied"], True),
        (["AccessDeniedException", "InvalidFileFormat"], True),
        (["KMS.AccessDeniedException"], True),
        (["InvalidEventFormat", "NoSuchBucket", "InvalidObjectState"], True),
        (["AccessDenied", "InternalError"], False),  # one a retry may cure: retry
        (["InternalError"], False),
        ([], False),  # nothing to judge by: the normal retry
    ],
)
def test_failures_only_the_user_can_fix(types: list[str], fixable: bool) -> None:
    assert bool(user_fixes([_failure(kind) for kind in types])) is fixable


def test_succeeded_entries_are_not_failures() -> None:
    failures = [_failure("InternalError", status="SUCCEEDED"), _failure("AccessDenied")]
    assert user_fixes(failures) is not None


_DAYS = st.integers(min_value=1, max_value=31)
_BOUND = st.one_of(st.none(), _DAYS.map(t))
_HOLDERS = st.lists(
    st.builds(
        _holder,
        import_id=st.uuids().map(str),
        destination=st.sampled_from([STORE, "abc-123", STORE.replace("abc-123", "other")]),
        source_uri=st.sampled_from([None, "s3://b/AWSLogs/", "s3://b/AWSLogs/123456789012/x/",
                                    "s3://b/Other/"]),
        start=_BOUND,
        end=_BOUND,
        status=st.sampled_from(["COMPLETED", "FAILED", "IN_PROGRESS"]),
        events=st.sampled_from([None, 0, 5]),
    ),
    max_size=30,
)  # fmt: skip


@settings(max_examples=400, deadline=None, derandomize=True)
@given(holders=_HOLDERS, start=_BOUND, end=_BOUND)
def test_the_index_finds_what_the_full_scan_finds(
    holders: list[Holder], start: datetime | None, end: datetime | None
) -> None:
    """The planner's index looks only near the range; it must answer exactly as comparing
    every holder does, in the same order (messages list them in that order)."""
    want = Identity(STORE, "s3://b/AWSLogs/123456789012/", start, end)
    assert HolderIndex(holders).overlapping(want) == overlapping(want, holders)
