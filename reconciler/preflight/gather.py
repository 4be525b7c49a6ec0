"""Ask AWS what preflight needs, once per store, bucket, role and range, and turn the answers
into each candidate's findings and estimate.

Only the actions that would start an import are candidates (create, retry, replace, queued),
so a steady-state plan makes no preflight call at all. Every call goes through the
`PreflightReader` port; an answer AWS would not give becomes a warning, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, TypeVar

from reconciler.errors import CloudError
from reconciler.findings import Estimate, Evidence
from reconciler.ports import (
    BucketFacts,
    Connector,
    ListPage,
    NotFound,
    PreflightReader,
    RoleFacts,
    S3Object,
    StoreFacts,
    Unreadable,
)
from reconciler.preflight import checks
from reconciler.preflight.estimate import estimate, price_per_gb
from reconciler.preflight.layout import (
    Selection,
    TimedFiles,
    Window,
    merged_windows,
    parse_source,
    select_files,
)
from reconciler.spec import ImportSpec

T = TypeVar("T")
Answer: TypeAlias = T | NotFound | Unreadable


@dataclass(frozen=True)
class Candidate:
    """An entry whose import would start; for a retry, what the import already got through
    (a retry reprocesses only the files that failed or were not reached)."""

    spec: ImportSpec
    retrying: bool = False
    files_completed: int | None = None
    failed_locations: tuple[str, ...] = ()
    failures_complete: bool = False  # failed_locations is every failed file


@dataclass(frozen=True)
class Listing:
    files: list[S3Object]
    incomplete: tuple[str, ...] = ()  # where the walk stopped short: the counts are a floor


@dataclass(frozen=True)
class Settings:
    price_per_gb: float | None = None  # the run's (--price-per-gb); an entry's wins


def _ask(question: Callable[[], T]) -> Answer[T]:
    try:
        return question()
    except (NotFound, Unreadable) as answer:
        return answer
    except CloudError as exc:  # a call that failed some other way: not checked, and said so
        return Unreadable(str(exc))


class _Asker:
    """One run's questions, each asked once: many entries share a store, bucket or role."""

    def __init__(self, connector: Connector, specs: Iterable[ImportSpec] = ()) -> None:
        self.connector = connector
        self.answers: dict[tuple[str, ...], object] = {}
        # Per (account, source): each entry's window -> the span listed for it.
        windows: dict[tuple[str, str], list[Window]] = {}
        for spec in specs:
            windows.setdefault((spec.account, spec.source_uri), []).append((spec.start, spec.end))
        self.spans = {source: merged_windows(found) for source, found in windows.items()}

    def _reader(self, account: str) -> PreflightReader:
        return self.connector.preflight(account)

    def _once(self, key: tuple[str, ...], question: Callable[[], T]) -> Answer[T]:
        if key not in self.answers:
            self.answers[key] = _ask(question)
        return self.answers[key]  # type: ignore[return-value]

    def store(self, spec: ImportSpec) -> Answer[StoreFacts]:
        return self._once(
            ("store", spec.account, spec.destination),
            lambda: self._reader(spec.account).event_data_store(spec.region, spec.destination),
        )

    def management(self, account: str) -> Answer[str | None]:
        return self._once(
            ("management", account), lambda: self._reader(account).management_account()
        )

    def bucket(self, spec: ImportSpec, name: str) -> Answer[BucketFacts]:
        return self._once(
            ("bucket", spec.account, name), lambda: self._reader(spec.account).bucket(name)
        )

    def role(self, spec: ImportSpec) -> Answer[RoleFacts]:
        return self._once(
            ("role", spec.account, spec.role_arn),
            lambda: self._reader(spec.account).role(spec.role_arn),
        )

    def files(self, spec: ImportSpec) -> Answer[Listing]:
        """The entry's files, from one listing of the span its window belongs to."""
        spans = self.spans.get((spec.account, spec.source_uri), {})
        start, end = spans.get((spec.start, spec.end), (spec.start, spec.end))
        key = ("files", spec.account, spec.bucket_region, spec.source_uri, str(start), str(end))
        listed = self._once(key, lambda: self._timed(spec, start, end))
        if isinstance(listed, NotFound | Unreadable):
            return listed
        timed, incomplete = listed
        return Listing(timed.within(spec.start, spec.end), tuple(incomplete))

    def _timed(
        self, spec: ImportSpec, start: datetime | None, end: datetime | None
    ) -> tuple[TimedFiles, list[str]]:
        selection = self._list(spec, start, end)
        return TimedFiles(selection.files), selection.incomplete

    def _list(self, spec: ImportSpec, start: datetime | None, end: datetime | None) -> Selection:
        source = parse_source(spec.source_uri)
        if source is None:
            return Selection([], [])
        reader = self._reader(spec.account)

        def lister(prefix: str, delimiter: bool, start_after: str | None) -> Iterator[ListPage]:
            if delimiter:  # the layout above the dates: shared by every entry of the bucket
                where = ("children", spec.account, spec.bucket_region, source.bucket, prefix)
                pages = self._once(where, lambda: list(fetch(prefix, True, None)))
                if isinstance(pages, NotFound | Unreadable):
                    raise pages
                return iter(pages)
            return fetch(prefix, False, start_after)

        def fetch(prefix: str, delimiter: bool, start_after: str | None) -> Iterator[ListPage]:
            return reader.list_objects(
                source.bucket,
                spec.bucket_region,
                prefix,
                delimiter=delimiter,
                start_after=start_after,
            )

        return select_files(source, start, end, lister)


def gather(
    candidates: Iterable[Candidate],
    connector: Connector,
    settings: Settings,
    now: datetime,
    parallelism: int = 8,
) -> dict[str, Evidence]:
    """Findings and an estimate per candidate name. Accounts share no question (every answer
    is keyed by account), so each account's candidates are asked about in a thread of their
    own: a run over dozens of accounts waits for the slowest, not for the sum."""
    wanted = list(candidates)
    by_account: dict[str, list[Candidate]] = {}
    for candidate in wanted:
        by_account.setdefault(candidate.spec.account, []).append(candidate)

    def one_account(group: list[Candidate]) -> dict[str, Evidence]:
        asker = _Asker(connector, [c.spec for c in group])
        return {c.spec.name: _evidence(c, asker, settings, now) for c in group}

    groups = list(by_account.values())
    if len(groups) > 1 and parallelism > 1:
        with ThreadPoolExecutor(max_workers=min(parallelism, len(groups))) as pool:
            answers = list(pool.map(one_account, groups))
    else:
        answers = [one_account(group) for group in groups]
    found = {name: evidence for answer in answers for name, evidence in answer.items()}
    return {c.spec.name: found[c.spec.name] for c in wanted}  # in the candidates' order


def _evidence(candidate: Candidate, asker: _Asker, settings: Settings, now: datetime) -> Evidence:
    spec = candidate.spec
    source = parse_source(spec.source_uri)
    bucket_name = source.bucket if source else spec.source_uri
    store = asker.store(spec)
    bucket = asker.bucket(spec, bucket_name)
    files: Sequence[S3Object] | Unreadable = []  # bucket-not-found says it all
    incomplete: tuple[str, ...] = ()
    if not isinstance(bucket, NotFound):
        listed = asker.files(spec)
        if isinstance(listed, Listing):
            files, incomplete = listed.files, listed.incomplete
        elif isinstance(listed, Unreadable):
            files = listed
    management: Answer[str | None] = None
    if isinstance(store, StoreFacts) and store.organization:
        management = asker.management(spec.account)
    findings = [
        *checks.store_findings(spec, store, management, checks.first_file_time(files), now),
        *checks.bucket_findings(spec, bucket),
        *checks.role_findings(spec, asker.role(spec)),
        *(checks.file_findings(spec, files) if not isinstance(bucket, NotFound) else []),
        *([checks.listing_incomplete(spec, incomplete)] if incomplete else []),
    ]
    findings = checks.Ignored(spec.preflight.ignore).apply(findings)
    cost: Estimate | None = None  # unknown: a budget then stops the start (over-budget)
    if not isinstance(files, Unreadable) and not incomplete:
        billing = store.billing_mode if isinstance(store, StoreFacts) else None
        price = price_per_gb(spec.preflight.price_per_gb, settings.price_per_gb, billing)
        cost = _estimate(candidate, files, price)
    return Evidence(tuple(findings), cost)


def _estimate(candidate: Candidate, files: Sequence[S3Object], price: float) -> Estimate:
    """A new import reads every selected file; a retry only those not completed: exactly the
    failed ones when every failure is known and nothing was left unreached, else the share
    not completed."""
    if not candidate.retrying or candidate.files_completed is None or not files:
        return estimate(files, price)
    failed = {
        location.removeprefix("s3://").split("/", 1)[-1] for location in candidate.failed_locations
    }
    remaining = len(files) - min(candidate.files_completed, len(files))
    if candidate.failures_complete and len(failed) == remaining:
        return estimate([item for item in files if item.key in failed], price)
    return estimate(files, price, share=remaining / len(files))
