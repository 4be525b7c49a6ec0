"""Preflight's pure parts: the listing plan over a fake bucket, checks on answers AWS would
not give, ignoring, the retry estimate, and what the planner does with the evidence."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.findings import Estimate, Evidence, Finding, Severity
from reconciler.plan.preflighted import Preflight, with_preflight
from reconciler.plan.types import Action, ActionKind, IdentityView
from reconciler.ports import BucketFacts, ListPage, NotFound, S3Object, StoreFacts, Unreadable
from reconciler.preflight import checks
from reconciler.preflight.gather import Candidate, Settings, _estimate, gather
from reconciler.preflight.layout import parse_source, select_files
from reconciler.spec import ImportSpec, PreflightPolicy, RetryPolicy, SourceLocation

ACCOUNT = "123456789012"
STORE = (
    f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/0b5c4a3e-1111-2222-3333-444455556666"
)


def key(moment: datetime, region: str = "us-east-1", org: str = "", account: str = ACCOUNT) -> str:
    base = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail/{region}/{moment:%Y/%m/%d}/"
    return f"{base}{account}_CloudTrail_{region}_{moment:%Y%m%dT%H%M}Z_0000000000000000.json.gz"


class FakeBucket:
    """ListObjectsV2 over sorted keys, with pages of `page` keys; records every call."""

    def __init__(self, keys: list[str], page: int = 1000) -> None:
        self.keys = sorted(keys)
        self.page = page
        self.calls: list[tuple[str, bool, str | None]] = []

    def __call__(self, prefix: str, delimiter: bool, start_after: str | None) -> Iterator[ListPage]:
        matching = [
            k for k in self.keys if k.startswith(prefix) and (not start_after or k > start_after)
        ]
        if delimiter:
            self.calls.append((prefix, delimiter, start_after))
            children = sorted(
                {
                    prefix + k[len(prefix) :].split("/", 1)[0] + "/"
                    for k in matching
                    if "/" in k[len(prefix) :]
                }
            )
            yield ListPage((), tuple(children))
            return
        for index in range(0, max(len(matching), 1), self.page):
            self.calls.append((prefix, delimiter, start_after))
            chunk = matching[index : index + self.page]
            yield ListPage(tuple(S3Object(k, 10, "STANDARD") for k in chunk))


def hourly(start: datetime, end: datetime, **where: Any) -> list[str]:
    keys, moment = [], start
    while moment < end:
        keys.append(key(moment, **where))
        moment += timedelta(hours=1)
    return keys


T0 = datetime(2023, 1, 1, tzinfo=UTC)
T3 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uri", "start", "end", "expected"),
    [
        # closed range, minute precision: 10:00 and 12:00 both in
        ("s3://b", datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 1, 12, tzinfo=UTC), 3),
        # seconds are cut to the minute, as the sandbox (and AWS's file-name match) does
        (
            "s3://b",
            datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC),
            datetime(2024, 5, 1, 10, 59, 59, tzinfo=UTC),
            1,
        ),
        ("s3://b/AWSLogs/", None, datetime(2023, 1, 1, 23, tzinfo=UTC), 24),
        (
            f"s3://b/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2025",
            datetime(2025, 12, 31, 22, tzinfo=UTC),
            None,
            2,
        ),
        ("s3://b", None, None, 3 * 365 * 24 + 24),  # 2024 is a leap year
    ],
)
def test_files_in_range(
    uri: str, start: datetime | None, end: datetime | None, expected: int
) -> None:
    bucket = FakeBucket(hourly(T0, T3))
    source = parse_source(uri)
    assert source is not None
    assert len(select_files(source, start, end, bucket).files) == expected


def test_the_listing_uses_years_and_start_after_and_stops_at_the_end() -> None:
    bucket = FakeBucket(hourly(T0, T3) + hourly(T0, T3, region="eu-west-1"), page=1000)
    start, end = datetime(2024, 11, 30, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    files = select_files(parse_source("s3://b"), start, end, bucket).files  # type: ignore[arg-type]
    assert len(files) == 2 * (int((end - start) / timedelta(hours=1)) + 1)
    listed = [(prefix, after) for prefix, delimiter, after in bucket.calls if not delimiter]
    east = f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/"
    assert (f"{east}2023/", None) not in listed
    assert all(not prefix.endswith("2023/") for prefix, _ in listed)
    firsts = [after for prefix, after in listed if prefix == f"{east}2024/"]
    assert firsts[0] == f"{east}2024/11/30/{ACCOUNT}_CloudTrail_us-east-1_20241130T0100Z"
    # 2025 stops in its first page: 2025-01-02T00:00 is in page one of 8,760 keys
    assert len([p for p, _ in listed if p == f"{east}2025/"]) == 1


def test_the_organization_layout_is_walked_per_account() -> None:
    keys = hourly(T0, T0 + timedelta(days=1), org="o-abc") + hourly(
        T0, T0 + timedelta(days=1), org="o-abc", account="210987654321"
    )
    files = select_files(parse_source("s3://b/AWSLogs/o-abc/"), None, None, FakeBucket(keys)).files  # type: ignore[arg-type]
    assert len(files) == 48


def test_a_prefix_above_awslogs_is_searched_but_not_the_whole_bucket() -> None:
    keys = [f"trails/{k}" for k in hourly(T0, T0 + timedelta(hours=5))] + ["other/file.txt"]
    bucket = FakeBucket(keys)
    assert len(select_files(parse_source("s3://b"), None, None, bucket).files) == 5  # type: ignore[arg-type]
    assert all(not p.startswith("other/") or d for p, d, _ in bucket.calls)


def spec(**changes: Any) -> ImportSpec:
    values: dict[str, Any] = dict(
        name="entry",
        destination=STORE,
        source_uri="s3://b",
        bucket_region="us-east-1",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/r",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 2, 1, tzinfo=UTC),
        retry=RetryPolicy(),
        location=SourceLocation("m.yaml", 0, 3, 5),
    )
    values.update(changes)
    return ImportSpec(**values)


NOW = datetime(2026, 12, 2, tzinfo=UTC)


def store(**changes: Any) -> StoreFacts:
    values: dict[str, Any] = dict(
        arn=STORE, status="STOPPED_INGESTION", holds_trail_events=True, retention_days=3653,
        created=datetime(2026, 6, 1, tzinfo=UTC), organization=False, kms_key_id=None,
        billing_mode="EXTENDABLE_RETENTION_PRICING",
    )  # fmt: skip
    values.update(changes)
    return StoreFacts(**values)


def test_a_refused_call_is_a_warning_naming_the_permission_never_not_found() -> None:
    denied = Unreadable("AccessDenied", permission="s3:GetBucketLocation")
    (finding,) = checks.bucket_findings(spec(), denied)
    assert (finding.code, finding.severity) == ("preflight-access-denied", Severity.WARNING)
    assert "s3:GetBucketLocation" in finding.message
    (finding,) = checks.store_findings(spec(), Unreadable("throttled"), None, None, NOW)
    assert finding.code == "preflight-incomplete"
    bucket = BucketFacts("b", "us-east-1", None, ownership_unreadable=denied)
    assert [f.code for f in checks.bucket_findings(spec(), bucket)] == ["preflight-access-denied"]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (store(), []),
        (
            store(status="ENABLED", created=datetime(2024, 1, 15, tzinfo=UTC)),
            ["store-ingests-live"],
        ),
        (store(retention_days=365), ["retention-drops-events"]),
        (store(holds_trail_events=False), ["store-wrong-category"]),
        (store(status="ENABLING"), ["store-not-usable"]),
        (store(kms_key_id="k"), ["store-kms-key"]),
        (NotFound("no"), ["store-not-found"]),
    ],
)
def test_store_checks(facts: StoreFacts | NotFound, expected: list[str]) -> None:
    assert [f.code for f in checks.store_findings(spec(), facts, None, None, NOW)] == expected


def test_an_open_start_is_checked_against_the_first_file_for_retention() -> None:
    first = datetime(2020, 1, 1, tzinfo=UTC)
    entry = spec(start=None, end=datetime(2026, 1, 1, tzinfo=UTC))
    found = checks.store_findings(entry, store(retention_days=365), None, first, NOW)
    assert [f.code for f in found] == ["retention-drops-events"]
    assert "part before" in found[0].message


def test_ignored_errors_become_warnings_but_overlaps_never() -> None:
    error = Finding("role-not-trusted", Severity.ERROR, "m", "f")
    overlap = Finding("overlaps-existing-import", Severity.ERROR, "m", "f")
    kept = checks.Ignored(frozenset({"role-not-trusted", "overlaps-existing-import"})).apply(
        [error, overlap]
    )
    assert [(f.code, f.severity) for f in kept] == [
        ("role-not-trusted", Severity.WARNING),
        ("overlaps-existing-import", Severity.ERROR),
    ]


def files(count: int) -> list[S3Object]:
    return [S3Object(f"k{i:03d}", 100 + i, "STANDARD") for i in range(count)]


def test_a_retry_counts_only_what_is_not_completed() -> None:
    listed = files(10)
    # every failure known: exactly those files
    exact = Candidate(
        spec(),
        retrying=True,
        files_completed=8,
        failed_locations=("s3://b/k003", "s3://b/k007"),
        failures_complete=True,
    )
    assert _estimate(exact, listed, 1.0).bytes == 103 + 107
    # only a count: the share not completed
    share = Candidate(spec(), retrying=True, files_completed=6)
    assert (_estimate(share, listed, 1.0).files, _estimate(share, listed, 1.0).bytes) == (
        4,
        round(sum(f.size for f in listed) * 0.4),
    )
    assert _estimate(Candidate(spec()), listed, 1.0).files == 10


def action(name: str, kind: ActionKind = ActionKind.CREATE) -> Action:
    identity = IdentityView(STORE, "s3://b", None, None)
    return Action(name, kind, "why", ACCOUNT, "us-east-1", STORE, None, identity)


def test_errors_make_attention_and_the_total_counts_only_what_still_starts() -> None:
    cost = Estimate(1, 100, 1000, 2.0)
    evidence = {
        "good": Evidence((), cost),
        "bad": Evidence((Finding("role-not-found", Severity.ERROR, "m", "f"),), cost),
    }
    found, total = with_preflight(
        [action("good"), action("bad"), action("done", ActionKind.NOOP)], Preflight(evidence)
    )
    assert [a.action for a in found] == [ActionKind.CREATE, ActionKind.ATTENTION, ActionKind.NOOP]
    assert "role-not-found" in found[1].reason and found[1].estimate == cost
    assert total == cost


def test_over_budget_stops_every_start() -> None:
    evidence = {name: Evidence((), Estimate(1, 100, 1000, 6.0)) for name in ("a", "b")}
    found, total = with_preflight(
        [action("a"), action("b", ActionKind.QUEUED)], Preflight(evidence, max_cost=10.0)
    )
    assert total.cost_usd == 12.0
    assert [a.action for a in found] == [ActionKind.ATTENTION, ActionKind.ATTENTION]
    assert all(f.code == "over-budget" for a in found for f in a.findings)
    found, _ = with_preflight([action("a"), action("b")], Preflight(evidence, max_cost=12.0))
    assert [a.action for a in found] == [ActionKind.CREATE, ActionKind.CREATE]


def test_preflight_policy_round_trips_through_a_saved_plan() -> None:
    from reconciler.spec import spec_from_json, spec_to_json

    policy = PreflightPolicy(frozenset({"bucket-acls-enabled"}), 1.5)
    assert spec_from_json(spec_to_json(spec(preflight=policy))).preflight == policy


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--max-cost", "nan"], "--max-cost"),
        (["--max-cost", "inf"], "--max-cost"),
        (["--max-cost", "-1"], "--max-cost"),
        (["--price-per-gb", "0"], "--price-per-gb"),
        (["--price-per-gb", "1e9"], "--price-per-gb"),
        (["--no-preflight", "--max-cost", "5"], "--no-preflight"),
    ],
)
def test_preflight_flags_refuse_what_is_not_a_budget_or_a_price(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from tests.cli_helpers import invoke

    for command in ("plan", "apply"):
        code, _, err = invoke([command, str(tmp_path), *args], capsys)
        assert code == 1 and says in err and "Traceback" not in err


def test_a_manifest_cannot_ignore_an_overlap_or_a_typo(tmp_path: Any) -> None:
    from reconciler.manifest.load import load_manifests

    text = (
        "version: 1\nimports:\n  - name: a\n"
        f"    destination: {STORE}\n"
        "    source: {uri: s3://b, bucket_region: us-east-1,\n"
        f"             role_arn: 'arn:aws:iam::{ACCOUNT}:role/r'}}\n"
        "    preflight: {ignore: [overlaps-existing-import, bucket-acl-enabled]}\n"
    )
    (tmp_path / "m.yaml").write_text(text)
    problems = [p.format() for p in load_manifests([str(tmp_path)]).problems]
    assert any("overlaps-existing-import cannot be ignored" in p and ":7:" in p for p in problems)
    assert any("'bucket-acl-enabled' is not a preflight finding code" in p for p in problems)


@pytest.mark.parametrize(
    ("start", "end", "prefix"),
    [
        (datetime(2024, 5, 3, 4, tzinfo=UTC), datetime(2024, 5, 3, 9, tzinfo=UTC), "2024/05/03/"),
        (datetime(2024, 5, 3, 4, tzinfo=UTC), datetime(2024, 5, 9, tzinfo=UTC), "2024/05/"),
        (datetime(2024, 5, 3, 4, tzinfo=UTC), datetime(2024, 7, 9, tzinfo=UTC), "2024/"),
    ],
)
def test_a_window_inside_one_month_or_day_lists_only_that(
    start: datetime, end: datetime, prefix: str
) -> None:
    bucket = FakeBucket(hourly(T0, T3))
    files = select_files(parse_source("s3://b"), start, end, bucket).files  # type: ignore[arg-type]
    assert len(files) == int((end - start) / timedelta(hours=1)) + 1
    region = f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/"
    assert {p for p, delimiter, _ in bucket.calls if not delimiter} == {region + prefix}


def test_adjacent_entries_of_one_source_share_one_walk() -> None:
    from reconciler.preflight.layout import merged_windows

    day = timedelta(days=1)
    a = (T0, T0 + 10 * day)
    b = (T0 + 10 * day + timedelta(hours=5), T0 + 20 * day)  # within a day of a's end
    far = (T0 + 40 * day, T0 + 41 * day)
    spans = merged_windows([a, b, far])
    assert spans[a] == spans[b] == (a[0], b[1]) and spans[far] == far
    assert merged_windows([(None, T0), (T0, None)])[(None, T0)] == (None, None)


def test_trails_beside_awslogs_and_raw_prefixes_are_found_as_the_sandbox_reads_them() -> None:
    day = [*hourly(T0, T0 + timedelta(hours=3))]
    keys = day + [f"backup/{k}" for k in day] + [f"logs-2023/{k}" for k in day]
    assert len(select_files(parse_source("s3://b"), None, None, FakeBucket(keys)).files) == 9  # type: ignore[arg-type]
    raw = select_files(parse_source("s3://b/logs"), None, None, FakeBucket(keys))  # type: ignore[arg-type]
    assert len(raw.files) == 3 and not raw.incomplete


def test_a_search_cut_short_says_so() -> None:
    keys = [f"f{i:03d}/x/y/z/file.json.gz" for i in range(150)]
    selection = select_files(parse_source("s3://b"), None, None, FakeBucket(keys))  # type: ignore[arg-type]
    assert selection.files == [] and selection.incomplete


def test_start_after_uses_the_trail_folder_name() -> None:
    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    keys = [
        f"AWSLogs/{ACCOUNT}/CloudTrail-Insight/us-east-1/2024/05/01/"
        f"{ACCOUNT}_CloudTrail-Insight_us-east-1_20240501T{hour:02d}00Z_0000000000000000.json.gz"
        for hour in range(24)
    ]
    source = parse_source(f"s3://b/AWSLogs/{ACCOUNT}/CloudTrail-Insight/")
    files = select_files(source, start, start + timedelta(hours=5), FakeBucket(keys)).files  # type: ignore[arg-type]
    assert len(files) == 6


def test_a_year_folder_outside_the_range_is_not_listed() -> None:
    bucket = FakeBucket(hourly(T0, T3))
    source = parse_source(f"s3://b/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2023/")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert select_files(source, start, None, bucket).files == []  # type: ignore[arg-type]
    assert [c for c in bucket.calls if not c[1]] == []


def test_trust_policies_as_iam_writes_them() -> None:
    from reconciler.aws.preflight import trust_of

    statement = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    anyone = trust_of("r", {"Statement": [{**statement, "Principal": "*"}]})
    assert anyone.trusts_cloudtrail
    negative = {"StringNotEquals": {"aws:SourceArn": "arn:other"}}
    service = {"Service": "cloudtrail.amazonaws.com"}
    refused = trust_of(
        "r", {"Statement": [{**statement, "Principal": service, "Condition": negative}]}
    )
    assert refused.trusts_cloudtrail and refused.source_arns == ()
    encoded = "%7B%22Statement%22%3A%5B%5D%7D"  # how IAM's API may return the document
    assert not trust_of("r", encoded).trusts_cloudtrail


def test_a_budget_stops_a_start_whose_cost_is_unknown() -> None:
    evidence = {"a": Evidence((), None), "b": Evidence((), Estimate(1, 1, 10, 0.5))}
    found, _ = with_preflight([action("a"), action("b")], Preflight(evidence, max_cost=100.0))
    assert [a.action for a in found] == [ActionKind.ATTENTION, ActionKind.CREATE]
    assert found[0].findings[0].code == "over-budget"
    found, _ = with_preflight([action("a")], Preflight(evidence))
    assert found[0].action is ActionKind.CREATE  # no budget: nothing to hold it to


def test_a_pending_start_keeps_its_queue_but_is_not_startable() -> None:
    from reconciler.plan.preflighted import startable

    evidence = {"p": Evidence((Finding("role-not-found", Severity.ERROR, "m", "f"),), None)}
    (found,), _ = with_preflight([action("p", ActionKind.PENDING)], Preflight(evidence))
    assert found.action is ActionKind.PENDING and not startable(found)


class AccountReader:
    """One account's preflight answers; `arrived` is a barrier every account must reach."""

    def __init__(self, account: str, arrived: threading.Barrier, refuse_bucket: bool) -> None:
        self.account, self.arrived, self.refuse_bucket = account, arrived, refuse_bucket
        self.stores: list[str] = []

    def event_data_store(self, region: str, arn: str) -> StoreFacts:
        self.stores.append(arn)
        self.arrived.wait()  # only passes when every account is being asked at the same time
        return store(arn=arn)

    def bucket(self, name: str) -> BucketFacts:
        if self.refuse_bucket:
            raise Unreadable("s3:GetBucketLocation refused")
        return BucketFacts(name, "us-east-1", "BucketOwnerEnforced")

    def role(self, arn: str) -> Any:
        raise NotFound(arn)

    def management_account(self) -> str | None:
        return None

    def list_objects(
        self, bucket: str, region: str, prefix: str, *, delimiter: bool, start_after: str | None
    ) -> Iterator[ListPage]:
        return FakeBucket(hourly(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC),
                                 account=self.account))(prefix, delimiter, start_after)  # fmt: skip


def test_accounts_are_asked_side_by_side_and_answers_stay_with_their_entries() -> None:
    accounts = ["111111111111", "222222222222", "333333333333"]
    arrived = threading.Barrier(len(accounts), timeout=60)
    readers = {a: AccountReader(a, arrived, refuse_bucket=a == accounts[1]) for a in accounts}
    connector: Any = type("Connector", (), {"preflight": lambda self, a: readers[a]})()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    candidates = [
        Candidate(spec(name=f"{account}-{day}", destination=STORE.replace(ACCOUNT, account),
                       start=start, end=datetime(2024, 1, day, tzinfo=UTC)))
        for day in (1, 2) for account in accounts
    ]  # fmt: skip
    evidence = gather(candidates, connector, Settings(price_per_gb=1.0), NOW, parallelism=8)
    assert list(evidence) == [c.spec.name for c in candidates]  # the candidates' order
    for account, reader in readers.items():
        assert len(reader.stores) == 1  # two entries, one store: asked once
        for day in (1, 2):
            found = evidence[f"{account}-{day}"]
            codes = {finding.code for finding in found.findings}
            assert ("preflight-incomplete" in codes) == (account == accounts[1]), codes
            assert found.estimate is not None and found.estimate.files == (1 if day == 1 else 24)
