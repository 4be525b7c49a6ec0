"""The S3 state store against the sandbox's S3: conditional writes, backups, refusal of bad
state, and the lock object. Processes racing for the lock are real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.aws.session import ClientFactory
from reconciler.aws.statestore_s3 import BACKUPS_KEPT, S3StateStore
from reconciler.cli.app import open_state_store
from reconciler.errors import LockError, StateError, UsageError
from reconciler.spec import Identity
from reconciler.state.document import ImportRecord, StateDocument
from reconciler.state.store import LockInfo, ci_run_url

REGION = "us-east-1"
KEY = "teams/payments/state.json"
DESTINATION = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-0000"


def record(name: str, month: int = 1) -> ImportRecord:
    return ImportRecord(
        name=name,
        manifest_file="manifests/payments.yaml",
        identity=Identity(
            destination=DESTINATION,
            source_uri="s3://trail-logs/AWSLogs/123456789012/CloudTrail/",
            start=datetime(2024, month, 1, tzinfo=UTC),
            end=datetime(2024, month, 28, tzinfo=UTC),
        ),
        bucket_region=REGION,
        role_arn="arn:aws:iam::123456789012:role/LakeImport",
        max_attempts=3,
        retry_stopped=False,
        spec_hash=f"hash-{name}",
    )


def with_records(document: StateDocument, *names: str) -> StateDocument:
    records = dict(document.imports)
    records.update({name: record(name, 1 + index % 12) for index, name in enumerate(names)})
    return document.with_records(records)


@pytest.fixture(scope="module")
def factory(sandbox: Any) -> ClientFactory:
    return ClientFactory(region=REGION, endpoint_url=sandbox.endpoint_url)


@pytest.fixture
def s3(sandbox: Any) -> Any:
    return sandbox.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"state-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def new_store(bucket: str, factory: ClientFactory) -> Any:
    def make(key: str = KEY) -> S3StateStore:
        return S3StateStore(bucket, key, factory, REGION)

    return make


@pytest.fixture
def store(new_store: Any) -> S3StateStore:
    return new_store()  # type: ignore[no-any-return]


def write_once(store: S3StateStore, *names: str) -> StateDocument:
    with store.lock("reconcile apply"):
        return store.write(with_records(store.read(), *names))


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def body(s3: Any, bucket: str, key: str = KEY) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def put_lock(s3: Any, bucket: str, **changes: Any) -> LockInfo:
    """A lock object written by hand, as another (possibly dead) run would have left it."""
    info = LockInfo(
        **{
            "lock_id": str(uuid.uuid4()),
            "user": "ci",
            "host": "runner-7",
            "pid": 4242,
            "time": datetime.now(UTC).replace(microsecond=0),
            "command": "reconcile apply --wait",
            **changes,
        }
    )
    s3.put_object(Bucket=bucket, Key=f"{KEY}.lock", Body=json.dumps(info.to_json()).encode())
    return info


# -- reading and writing -------------------------------------------------------------------


def test_missing_state_reads_as_empty(store: S3StateStore, s3: Any, bucket: str) -> None:
    assert store.read() == StateDocument.empty()
    assert store.describe() == f"s3://{bucket}/{KEY}"
    assert keys(s3, bucket) == []  # reading creates nothing


def test_round_trip_serial_and_lineage(
    store: S3StateStore, new_store: Any, s3: Any, bucket: str
) -> None:
    first = write_once(store, "payments-2024-h1")
    assert (first.serial, first.exists) == (1, True)
    second = write_once(store, "payments-2023")
    assert second.serial == 2
    assert second.lineage == first.lineage  # fixed at creation

    again = new_store().read()
    assert again == second
    assert sorted(again.imports) == ["payments-2023", "payments-2024-h1"]
    assert json.loads(body(s3, bucket))["serial"] == 2
    assert keys(s3, bucket) == [KEY, f"{KEY}.backup.1"]  # the lock object is gone


def test_write_returns_what_the_next_write_builds_on(store: S3StateStore) -> None:
    with store.lock("reconcile apply"):
        document = store.read()
        for step in range(1, 4):  # the applier writes after every step
            document = store.write(with_records(document, f"import-{step}"))
            assert document.serial == step


def test_numbered_backups_without_versioning(
    store: S3StateStore, new_store: Any, s3: Any, bucket: str
) -> None:
    write_once(store, "a")
    first_bytes = body(s3, bucket)
    assert keys(s3, bucket) == [KEY]  # nothing to back up on the first write
    write_once(store, "b")
    assert body(s3, bucket, store.backup_key(1)) == first_bytes

    writes = BACKUPS_KEPT + 3
    for step in range(3, writes + 1):
        write_once(store, f"import-{step}")
    kept = list(range(writes - BACKUPS_KEPT, writes))  # the versions before the current one
    assert keys(s3, bucket) == sorted([KEY] + [store.backup_key(n) for n in kept])
    for serial in kept:
        assert new_store(store.backup_key(serial)).read().serial == serial


def test_one_backup_per_run_and_the_newest_kept_across_gaps(
    store: S3StateStore, new_store: Any, s3: Any, bucket: str
) -> None:
    """A run (one lock hold) backs up the version it found once, before its first write; its
    later steps are one PutObject each. Serials of backups then have gaps: pruning lists them."""
    write_once(store, "first")
    run_starts = []
    for run in range(BACKUPS_KEPT + 2):
        with store.lock("reconcile apply"):
            document = store.read()
            run_starts.append(document.serial)
            for step in range(3):
                document = store.write(with_records(document, f"run-{run}-{step}"))
    kept = run_starts[-BACKUPS_KEPT:]
    assert keys(s3, bucket) == sorted([KEY] + [store.backup_key(n) for n in kept])
    for serial in kept:  # each backup is the version its run found
        assert new_store(store.backup_key(serial)).read().serial == serial


def test_bucket_versioning_keeps_versions_instead(
    store: S3StateStore, s3: Any, bucket: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for name in ("a", "b", "c"):
        write_once(store, name)
    assert keys(s3, bucket) == [KEY]  # no backup objects
    versions = s3.list_object_versions(Bucket=bucket, Prefix=KEY)["Versions"]
    serials = sorted(
        json.loads(s3.get_object(Bucket=bucket, Key=KEY, VersionId=v["VersionId"])["Body"].read())[
            "serial"
        ]
        for v in versions
        if v["Key"] == KEY
    )
    assert serials == [1, 2, 3]


CORRUPT = {
    "empty": b"",
    "truncated": b'{"format_version": 1, "lineage": "6f1c", "serial": 3, "imp',
    "not-utf8": b'{"format_version": 1, "lineage": "\xff\xfe"}',
    "not-an-object": b"[1, 2, 3]\n",
    "newer-format": b'{"format_version": 99, "lineage": "6f1c", "serial": 3, "imports": {}}',
    "bad-record": b'{"format_version": 1, "lineage": "6f1c", "serial": 3, "imports": {"a": {}}}',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_unusable_state_is_refused_and_never_overwritten(
    store: S3StateStore, new_store: Any, s3: Any, bucket: str, content: bytes
) -> None:
    s3.put_object(Bucket=bucket, Key=KEY, Body=content)

    with pytest.raises(StateError) as read_error:
        store.read()
    message = str(read_error.value)
    assert f"s3://{bucket}/{KEY}" in message
    assert "\n" not in message

    fresh = new_store()  # never read: write must look before it replaces
    with fresh.lock("reconcile apply"), pytest.raises(StateError):
        fresh.write(StateDocument.empty())
    assert body(s3, bucket) == content  # byte for byte
    assert keys(s3, bucket) == [KEY]


def test_newer_format_says_upgrade(store: S3StateStore, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key=KEY, Body=CORRUPT["newer-format"])
    with pytest.raises(StateError, match="newer than this reconcile understands"):
        store.read()


def test_write_without_the_lock_is_refused(store: S3StateStore, s3: Any, bucket: str) -> None:
    with pytest.raises(StateError, match="while holding its lock"):
        store.write(store.read())
    assert keys(s3, bucket) == []


def test_write_with_a_stale_etag_is_refused(new_store: Any, s3: Any, bucket: str) -> None:
    write_once(new_store(), "a")
    first, second = new_store(), new_store()
    first_document, second_document = first.read(), second.read()  # same version, same ETag

    with first.lock("reconcile apply"):
        first.write(with_records(first_document, "b"))
    written = body(s3, bucket)
    with (
        second.lock("reconcile apply"),
        pytest.raises(StateError, match="changed underneath") as error,
    ):
        second.write(with_records(second_document, "c"))

    assert "Nothing was written" in str(error.value)
    assert body(s3, bucket) == written  # the first writer's version, untouched
    assert sorted(new_store().read().imports) == ["a", "b"]


def test_state_created_by_someone_else_since_read_is_refused(
    new_store: Any, s3: Any, bucket: str
) -> None:
    first, second = new_store(), new_store()
    first_document, second_document = first.read(), second.read()  # both: no state yet
    with first.lock("reconcile apply"):
        first.write(with_records(first_document, "a"))
    with second.lock("reconcile apply"), pytest.raises(StateError, match="changed underneath"):
        second.write(with_records(second_document, "b"))
    assert sorted(new_store().read().imports) == ["a"]


def test_a_write_whose_response_was_lost_is_recognised(
    store: S3StateStore, s3: Any, bucket: str
) -> None:
    # botocore retries a PutObject whose response was lost; the retry gets 412 because the
    # first attempt landed. The store sees its own bytes there and counts the write as done.
    write_once(store, "a")
    with store.lock("reconcile apply"):
        document = with_records(store.read(), "b")
        landed = document.next_version()
        s3.put_object(Bucket=bucket, Key=KEY, Body=landed.to_bytes())
        assert store.write(document) == landed
        assert store.write(landed).serial == 3  # and the next write builds on it


def test_document_from_another_lineage_is_refused(new_store: Any) -> None:
    write_once(new_store(), "a")
    foreign = StateDocument(lineage="someone-elses-state", serial=1)
    store = new_store()  # never read: the document's basis is checked
    with store.lock("reconcile state push"), pytest.raises(StateError, match="based on"):
        store.write(foreign)
    assert new_store().read().lineage != "someone-elses-state"


# -- locking -------------------------------------------------------------------------------

RACER = """
import sys
from contextlib import ExitStack
from reconciler.aws.session import ClientFactory
from reconciler.aws.statestore_s3 import S3StateStore
from reconciler.errors import LockError

bucket, key, endpoint = sys.argv[1:4]
factory = ClientFactory(region="us-east-1", endpoint_url=endpoint)
store = S3StateStore(bucket, key, factory, "us-east-1")
store.holder()  # build and connect the client before the race
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    with ExitStack() as stack:
        try:
            info = stack.enter_context(store.lock("race", timeout=0))
            print("won", info.lock_id, flush=True)
        except LockError:
            print("lost", flush=True)
        sys.stdin.readline()  # "release"
    print("released", flush=True)
"""
RACE_ROUNDS = 30


def test_processes_racing_for_the_lock_exactly_one_wins(
    sandbox: Any, store: S3StateStore, bucket: str
) -> None:
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, bucket, KEY, sandbox.endpoint_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
        for round_number in range(RACE_ROUNDS):
            for racer in racers:  # both told to go within microseconds
                assert racer.stdin is not None
                racer.stdin.write("go\n")
                racer.stdin.flush()
            answers = [racer.stdout.readline().split() for racer in racers if racer.stdout]
            winners = [answer[1] for answer in answers if answer[0] == "won"]
            assert len(winners) == 1, f"round {round_number}: {answers}"
            holder = store.holder()
            assert holder is not None and holder.lock_id == winners[0]
            for racer in racers:
                assert racer.stdin is not None
                racer.stdin.write("release\n")
                racer.stdin.flush()
            for racer in racers:
                assert racer.stdout is not None and racer.stdout.readline() == "released\n"
            assert store.holder() is None
    finally:
        for racer in racers:
            if racer.stdin is not None:
                racer.stdin.close()
        for racer in racers:
            try:
                racer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                racer.kill()
                racer.wait()
            if racer.stdout is not None:
                racer.stdout.close()


def test_taken_lock_fails_fast_naming_the_holder(new_store: Any) -> None:
    first, second = new_store(), new_store()
    with first.lock("reconcile apply") as info:
        began = time.monotonic()
        with pytest.raises(LockError) as error, second.lock("reconcile state mv", timeout=0):
            pass
        assert time.monotonic() - began < 1
        message = str(error.value)
        assert f"state {first.describe()} is locked by {info.user}@{info.host}" in message
        assert f"(pid {info.pid}, since " in message
        assert "command 'reconcile apply'" in message
        assert f"lock ID {info.lock_id})" in message
        assert f"`reconcile state force-unlock {info.lock_id}`" in message
        assert "stale" not in message
        assert "\n" not in message
        with pytest.raises(StateError, match="already locked"), first.lock("again"):
            pass
    assert first.holder() is None


def test_lock_timeout_waits_for_the_holder(new_store: Any) -> None:
    first, second = new_store(), new_store()
    stack = ExitStack()
    held = stack.enter_context(first.lock("reconcile apply"))
    releaser = threading.Timer(0.6, stack.close)
    began = time.monotonic()
    releaser.start()
    try:
        with second.lock("reconcile apply", timeout=10) as info:
            assert 0.5 < time.monotonic() - began < 5  # we waited for the holder to finish
            assert info.lock_id != held.lock_id
            assert second.holder() == info
    finally:
        releaser.join()
        stack.close()


def test_lock_timeout_expires(new_store: Any) -> None:
    first, second = new_store(), new_store()
    with first.lock("reconcile apply"):
        began = time.monotonic()
        with (
            pytest.raises(LockError, match=r"still locked after 0\.3 s"),
            second.lock("x", timeout=0.3),
        ):
            pass
        assert 0.3 <= time.monotonic() - began < 2


def test_negative_timeout_is_a_programming_error(store: S3StateStore) -> None:
    with pytest.raises(ValueError), store.lock("x", timeout=-1):
        pass


def test_lock_object_holds_the_holder_and_is_removed_after(
    store: S3StateStore, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.example.com/team/infra/-/jobs/77")
    assert store.holder() is None
    with store.lock("reconcile apply") as info:
        assert store.holder() == info
        recorded = json.loads(body(s3, bucket, f"{KEY}.lock"))
        assert set(recorded) == {"lock_id", "user", "host", "pid", "time", "command", "ci_run_url"}
        assert recorded["ci_run_url"] == "https://gitlab.example.com/team/infra/-/jobs/77"
        assert recorded["time"].endswith("Z")
        assert "CI run https://gitlab.example.com/team/infra/-/jobs/77" in info.describe()
    assert store.holder() is None
    assert keys(s3, bucket) == []


def test_lock_is_released_when_the_body_raises(store: S3StateStore, new_store: Any) -> None:
    with pytest.raises(KeyError), store.lock("reconcile apply"):
        raise KeyError("boom")
    assert store.holder() is None
    with new_store().lock("reconcile apply", timeout=0):
        pass


def test_a_lock_replaced_by_someone_else_is_not_deleted(
    store: S3StateStore, s3: Any, bucket: str
) -> None:
    with (
        pytest.raises(StateError, match="was replaced while this run held it") as error,
        store.lock("reconcile apply") as ours,
    ):
        other = put_lock(s3, bucket)  # force-unlocked, then taken by another run
    assert ours.lock_id in str(error.value)
    assert store.holder() == other  # left in place

    # When the body fails as well, its own error is what propagates; the lock is still kept.
    s3.delete_object(Bucket=bucket, Key=f"{KEY}.lock")
    with (
        pytest.raises(RuntimeError, match="body failed") as failure,
        store.lock("reconcile apply"),
    ):
        other = put_lock(s3, bucket)
        raise RuntimeError("body failed")
    assert any("was replaced" in note for note in getattr(failure.value, "__notes__", []))
    assert store.holder() == other


def test_a_lock_removed_by_someone_else_is_reported(
    store: S3StateStore, s3: Any, bucket: str
) -> None:
    with (
        pytest.raises(StateError, match="removed by someone else"),
        store.lock("reconcile apply"),
    ):
        s3.delete_object(Bucket=bucket, Key=f"{KEY}.lock")
    assert store.holder() is None


def test_stale_lock_is_reported_and_force_unlocked(
    store: S3StateStore, s3: Any, bucket: str
) -> None:
    stale = put_lock(s3, bucket, time=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    with pytest.raises(LockError) as error, store.lock("reconcile apply"):
        pass
    message = str(error.value)
    assert "looks stale (held for 3 h, lease 1 h)" in message
    assert f"`reconcile state force-unlock {stale.lock_id}`" in message
    assert "\n" not in message
    assert store.holder() == stale  # never broken automatically

    with pytest.raises(StateError, match=f"locked with lock ID {stale.lock_id}, not 1234"):
        store.force_unlock("1234")
    assert store.holder() == stale

    store.force_unlock(stale.lock_id)
    assert store.holder() is None
    with pytest.raises(StateError, match="no lock holder recorded"):
        store.force_unlock(stale.lock_id)
    with store.lock("reconcile apply", timeout=0):
        pass


def test_unreadable_lock_object_is_explained(store: S3StateStore, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key=f"{KEY}.lock", Body=b"<html>not ours</html>")
    assert store.holder() is None
    with pytest.raises(LockError, match="holds no holder record"), store.lock("x"):
        pass
    with pytest.raises(StateError, match=r"aws s3 rm s3://"):
        store.force_unlock("anything")
    assert body(s3, bucket, f"{KEY}.lock") == b"<html>not ours</html>"


# -- errors and locations ------------------------------------------------------------------


def test_missing_bucket_is_one_paragraph(factory: ClientFactory) -> None:
    store = S3StateStore("no-such-bucket-for-state", KEY, factory, REGION)
    with pytest.raises(StateError) as error:
        store.read()
    message = str(error.value)
    assert message.startswith(f"state s3://no-such-bucket-for-state/{KEY} could not be read")
    assert "NoSuchBucket" in message
    assert "Create the bucket" in message
    assert "\n" not in message
    with pytest.raises(StateError, match=r"could not be locked.*NoSuchBucket"), store.lock("x"):
        pass


def test_unreachable_endpoint_is_one_paragraph() -> None:
    class OneAttempt(ClientFactory):  # the run's factory retries reads ~10 times with backoff
        def client(self, service: str, region: str | None = None, retries: Any = "read") -> Any:
            from botocore.config import Config

            return self.session.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
            )

    store = S3StateStore(
        "bucket", KEY, OneAttempt(region=REGION, endpoint_url="http://127.0.0.1:9")
    )
    with pytest.raises(StateError, match=r"state s3://bucket/.* cannot reach") as error:
        store.read()
    assert "\n" not in str(error.value)


def test_open_state_store_s3(factory: ClientFactory, bucket: str) -> None:
    store = open_state_store(f"s3://{bucket}/{KEY}", factory)
    assert isinstance(store, S3StateStore)
    assert (store.bucket, store.key, store.describe()) == (bucket, KEY, f"s3://{bucket}/{KEY}")
    assert store.factory is factory
    assert store.read() == StateDocument.empty()


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("s3://bucket", "no object key"),
        ("s3://bucket/", "no object key"),
        ("s3://bucket/states/", "ends with /"),
        ("s3:///state.json", "no bucket"),
    ],
)
def test_open_state_store_refuses_a_location_without_an_object(location: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        open_state_store(location)


def test_lock_info_reads_records_without_ci_run_url() -> None:
    info = LockInfo.new("reconcile apply", ci_run_url="https://ci.example/run/1")
    assert LockInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    older = {key: value for key, value in info.to_json().items() if key != "ci_run_url"}
    assert LockInfo.from_json(older).ci_run_url is None
    assert "ci_run_url" not in LockInfo.new("x").to_json()
    with pytest.raises(ValueError):
        LockInfo.from_json({**older, "ci_run_url": 7})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_RUN_ID": "123",
                "CI_JOB_URL": "https://ignored",
            },
            "https://github.com/acme/infra/actions/runs/123",
        ),
        (
            {"CI_JOB_URL": "https://gitlab.com/acme/infra/-/jobs/9"},
            "https://gitlab.com/acme/infra/-/jobs/9",
        ),
        ({"GITHUB_RUN_ID": "123"}, None),
        ({}, None),
    ],
)
def test_ci_run_url(env: dict[str, str], expected: str | None) -> None:
    assert ci_run_url(env) == expected


@pytest.fixture(autouse=True)
def _no_ci_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lock records in these tests do not depend on the CI the suite runs in."""
    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "CI_JOB_URL"):
        monkeypatch.delenv(name, raising=False)
    yield
