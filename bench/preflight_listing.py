"""Preflight's listing: S3 calls, objects and wall time against a naive full-bucket listing.

A bucket holds three years of hourly trail logs in ten Regions (262,800 objects). Two
manifests of 100 imports each go through preflight's real code (`preflight.gather`: the
layout walk, caching, checks and estimate), against an in-memory S3 that answers
ListObjectsV2 exactly as S3 does (sorted keys, Prefix, Delimiter, StartAfter, 1,000 per page)
with a fixed latency per call (default 30 ms, about what ListObjectsV2 takes in a Region):

- per-Region weeks: each import one Region's trail for one week
  (`s3://bucket/AWSLogs/ACCOUNT/CloudTrail/REGION/`);
- whole-trail windows: 100 windows of about 11 days tile the three years, each over every
  Region (`s3://bucket`).

The same run lists the bucket whole once through the same fake: the best a naive tool can do
(one pass shared by all 100 imports); a naive tool that lists per import makes 100 times that.
(moto is not used here: it scans every key of the bucket on each call, which would measure
moto. tests/e2e/test_preflight_e2e.py checks the same walk over the sandbox's real S3 API.)

    python bench/preflight_listing.py [--years 3] [--regions 10] [--latency-ms 30]
"""

from __future__ import annotations

import argparse
import bisect
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.ports import BucketFacts, ListPage, RoleFacts, S3Object, StoreFacts
from reconciler.preflight.gather import Candidate, Settings, gather
from reconciler.spec import AccountAccess, ImportSpec, RetryPolicy, SourceLocation

ACCOUNT = "123456789012"
BUCKET = "bench-trail"
STORE = (
    f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/0b5c4a3e-1111-2222-3333-444455556666"
)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/import"
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
    "eu-west-2", "eu-central-1", "ap-south-1", "ap-southeast-1", "ap-northeast-1",
)  # fmt: skip
START = datetime(2023, 1, 1, tzinfo=UTC)
PAGE = 1000


class Bucket:
    """ListObjectsV2 over sorted keys in O(log n + page) per call, after a fixed latency."""

    def __init__(self, keys: list[str], latency: float) -> None:
        self.keys = sorted(keys)
        self.latency = latency
        self.calls = 0
        self.objects = 0

    def pages(self, prefix: str, delimiter: bool, start_after: str | None) -> Iterator[ListPage]:
        position = bisect.bisect_right(self.keys, start_after or "")
        position = max(position, bisect.bisect_left(self.keys, prefix))
        while True:
            self.calls += 1
            time.sleep(self.latency)
            objects: list[S3Object] = []
            prefixes: list[str] = []
            while position < len(self.keys) and len(objects) + len(prefixes) < PAGE:
                key = self.keys[position]
                if not key.startswith(prefix):
                    position = len(self.keys)
                    break
                rest = key[len(prefix) :]
                if delimiter and "/" in rest:
                    child = prefix + rest.split("/", 1)[0] + "/"
                    prefixes.append(child)
                    position = bisect.bisect_left(self.keys, child[:-1] + "0")  # past the child
                    continue
                objects.append(S3Object(key, 2_000, "STANDARD"))
                position += 1
            self.objects += len(objects)
            yield ListPage(tuple(objects), tuple(prefixes))
            if position >= len(self.keys) or not self.keys[position].startswith(prefix):
                return


class Lake:
    """The connector preflight sees: a healthy store, bucket and role; the bucket above."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket_ = bucket

    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None:
        pass

    def preflight(self, account: str) -> Lake:
        return self

    def event_data_store(self, region: str, arn: str) -> StoreFacts:
        return StoreFacts(
            arn, "STOPPED_INGESTION", True, 3653, datetime(2026, 6, 1, tzinfo=UTC), False, None,
            "EXTENDABLE_RETENTION_PRICING",
        )  # fmt: skip

    def bucket(self, name: str) -> BucketFacts:
        return BucketFacts(name, "us-east-1", "BucketOwnerEnforced")

    def role(self, arn: str) -> RoleFacts:
        return RoleFacts(arn, True)

    def management_account(self) -> str | None:
        return None

    def list_objects(
        self, bucket: str, region: str, prefix: str, *, delimiter: bool, start_after: str | None
    ) -> Iterator[ListPage]:
        return self.bucket_.pages(prefix, delimiter, start_after)

    def reader(self, account: str) -> Any:
        raise AssertionError("preflight reads no import")

    def writer(self, account: str) -> Any:
        raise AssertionError("preflight writes nothing")


def keys(years: int, regions: tuple[str, ...]) -> list[str]:
    found = []
    for region in regions:
        moment, end = START, START.replace(year=START.year + years)
        while moment < end:
            found.append(
                f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{moment:%Y/%m/%d}/{ACCOUNT}_CloudTrail_"
                f"{region}_{moment:%Y%m%dT%H%M}Z_{len(found):016d}.json.gz"
            )
            moment += timedelta(hours=1)
    return found


def spec(name: str, uri: str, start: datetime, end: datetime, index: int) -> ImportSpec:
    return ImportSpec(
        name=name, destination=STORE, source_uri=uri, bucket_region="us-east-1", role_arn=ROLE,
        start=start, end=end, retry=RetryPolicy(), location=SourceLocation("bench.yaml", index),
    )  # fmt: skip


def per_region_weeks(years: int, regions: tuple[str, ...]) -> list[ImportSpec]:
    weeks = years * 52
    found = []
    for index in range(100):
        region = regions[index % len(regions)]
        start = START + timedelta(weeks=(index * 7) % weeks)
        uri = f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/{region}/"
        end = start + timedelta(days=7, seconds=-1)
        found.append(spec(f"week-{index:03d}", uri, start, end, index))
    return found


def whole_trail_windows(years: int) -> list[ImportSpec]:
    step = (START.replace(year=START.year + years) - START) / 100
    return [
        spec(
            f"window-{index:03d}",
            f"s3://{BUCKET}",
            START + step * index,
            START + step * (index + 1) - timedelta(seconds=1),
            index,
        )
        for index in range(100)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    all_keys = keys(args.years, REGIONS[: args.regions])
    print(f"bucket: {len(all_keys):,} objects; {args.latency_ms:g} ms per ListObjectsV2")

    naive = Bucket(all_keys, latency)
    began = time.perf_counter()
    listed = sum(len(page.objects) for page in naive.pages("", False, None))
    naive_seconds = time.perf_counter() - began
    print(
        f"naive full listing, once: {naive.calls:,} calls, {listed:,} objects, "
        f"{naive_seconds:.1f} s (a tool that lists per import: x100)"
    )
    scenarios = {
        "per-Region weeks": per_region_weeks(args.years, REGIONS[: args.regions]),
        "whole-trail windows": whole_trail_windows(args.years),
    }
    now = datetime(2026, 12, 2, tzinfo=UTC)
    for label, specs in scenarios.items():
        bucket = Bucket(all_keys, latency)
        began = time.perf_counter()
        evidence = gather([Candidate(s) for s in specs], Lake(bucket), Settings(), now)  # type: ignore[arg-type]
        seconds = time.perf_counter() - began
        files = sum(e.estimate.files for e in evidence.values() if e.estimate)
        print(
            f"{label}: 100 imports, {files:,} files in range | preflight {bucket.calls:,} "
            f"calls, {bucket.objects:,} objects, {seconds:.1f} s | vs one naive pass: calls "
            f"{bucket.calls / naive.calls:.2f}x, objects {bucket.objects / listed:.2f}x, "
            f"time {seconds / naive_seconds:.2f}x | vs naive per import: calls "
            f"{bucket.calls / (100 * naive.calls):.3f}x, time "
            f"{seconds / (100 * naive_seconds):.3f}x"
        )


if __name__ == "__main__":
    main()
