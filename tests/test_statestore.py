"""The local state store: atomic writes, backups, refusal of bad state, and the lock.

Processes that hold the lock or die mid-write are real subprocesses (SIGKILL included), so
what is tested is what the kernel does, not a mock of it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.app import open_state_store
from reconciler.errors import LockError, StateError
from reconciler.spec import Identity
from reconciler.state.document import ForeignImport, ImportRecord, StateDocument
from reconciler.state.local import LocalStateStore
from reconciler.state.store import (
    DEFAULT_STATE_PATH,
    LockInfo,
    resolve_state_location,
)

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
        bucket_region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/LakeImport",
        max_attempts=3,
        retry_stopped=False,
        spec_hash=f"hash-{name}",
    )


def with_records(document: StateDocument, *names: str) -> StateDocument:
    records = dict(document.imports)
    records.update({name: record(name, 1 + index % 12) for index, name in enumerate(names)})
    return document.with_records(records)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / ".reconcile" / "state.json"


@pytest.fixture
def store(state_path: Path) -> LocalStateStore:
    return LocalStateStore(state_path)


def write_once(store: LocalStateStore, *names: str) -> StateDocument:
    with store.lock("reconcile apply"):
        return store.write(with_records(store.read(), *names))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


# -- reading and writing -------------------------------------------------------------------


def test_missing_state_reads_as_empty(store: LocalStateStore, state_path: Path) -> None:
    document = store.read()
    assert document == StateDocument.empty()
    assert not document.exists
    assert not state_path.parent.exists()  # reading creates nothing


def test_round_trip_serial_and_lineage(store: LocalStateStore, state_path: Path) -> None:
    first = write_once(store, "payments-2024-h1")
    assert (first.serial, first.exists) == (1, True)
    second = write_once(store, "payments-2023")
    assert second.serial == 2
    assert second.lineage == first.lineage  # fixed at creation

    again = LocalStateStore(state_path).read()
    assert again == second
    assert sorted(again.imports) == ["payments-2023", "payments-2024-h1"]
    assert json.loads(state_path.read_text())["serial"] == 2


def test_write_returns_what_the_next_write_builds_on(store: LocalStateStore) -> None:
    with store.lock("reconcile apply"):
        document = store.read()
        for step in range(1, 4):  # the applier writes after every step
            document = store.write(with_records(document, f"import-{step}"))
            assert document.serial == step


def test_previous_version_kept_as_backup(store: LocalStateStore, state_path: Path) -> None:
    write_once(store, "a")
    first_bytes = state_path.read_bytes()
    assert not store.backup_path.exists()  # nothing to back up on the first write
    write_once(store, "b")
    assert store.backup_path.read_bytes() == first_bytes
    assert LocalStateStore(store.backup_path).read().serial == 1


def test_files_are_private_whatever_the_umask(store: LocalStateStore, state_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        write_once(store, "a")
        with store.lock("reconcile apply"):
            assert mode(store.info_path) == 0o600
            store.write(store.read())
    finally:
        os.umask(old_umask)
    assert mode(state_path.parent) == 0o700
    assert mode(state_path) == 0o600
    assert mode(store.backup_path) == 0o600
    assert mode(store.lock_path) == 0o600


CORRUPT = {
    "empty": b"",
    "truncated": b'{"format_version": 1, "lineage": "6f1c", "serial": 3, "imp',
    "not-json": b"serial = 3\n",
    "not-utf8": b'{"format_version": 1, "lineage": "\xff\xfe"}',
    "not-an-object": b"[1, 2, 3]\n",
    "newer-format": b'{"format_version": 99, "lineage": "6f1c", "serial": 3, "imports": {}}',
    "bad-record": b'{"format_version": 1, "lineage": "6f1c", "serial": 3, "imports": {"a": {}}}',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_unusable_state_is_refused_and_never_overwritten(
    store: LocalStateStore, state_path: Path, content: bytes
) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_bytes(content)

    with pytest.raises(StateError) as read_error:
        store.read()
    message = str(read_error.value)
    assert str(state_path) in message
    assert "\n" not in message

    with store.lock("reconcile apply"), pytest.raises(StateError):
        store.write(StateDocument.empty())
    assert state_path.read_bytes() == content  # byte for byte
    assert not store.backup_path.exists()
    assert leftovers(state_path.parent) == []


def test_newer_format_says_upgrade(store: LocalStateStore, state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_bytes(CORRUPT["newer-format"])
    with pytest.raises(StateError, match="newer than this reconcile understands"):
        store.read()


def test_unreadable_path_is_a_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=re.escape(str(tmp_path))):
        LocalStateStore(tmp_path).read()  # a directory, not a file


def test_write_without_the_lock_is_refused(store: LocalStateStore, state_path: Path) -> None:
    with pytest.raises(StateError, match="while holding its lock"):
        store.write(store.read())
    assert not state_path.exists()


def test_second_writer_is_refused_after_the_first_wrote(state_path: Path) -> None:
    write_once(LocalStateStore(state_path), "a")
    first, second = LocalStateStore(state_path), LocalStateStore(state_path)
    first_document, second_document = first.read(), second.read()  # e.g. two plans

    with first.lock("reconcile apply"):
        first.write(with_records(first_document, "b"))
    with second.lock("reconcile apply"), pytest.raises(StateError, match="changed since"):
        second.write(with_records(second_document, "c"))

    assert sorted(LocalStateStore(state_path).read().imports) == ["a", "b"]


def test_document_from_another_lineage_is_refused(state_path: Path) -> None:
    write_once(LocalStateStore(state_path), "a")
    foreign = StateDocument(lineage="someone-elses-state", serial=1)
    store = LocalStateStore(state_path)  # never read: the document's basis is checked
    with store.lock("reconcile state push"), pytest.raises(StateError, match="based on"):
        store.write(foreign)
    assert LocalStateStore(state_path).read().lineage != "someone-elses-state"


# -- interrupts and crashes ----------------------------------------------------------------


def test_interrupt_at_compactions_final_rename_keeps_the_write_in_the_journal(
    store: LocalStateStore, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write is one journal line; the document is rewritten once, when the lock is let go.
    Ctrl-C at that rename leaves the old document, its backup and the journal: nothing lost."""
    write_once(store, "a")
    write_once(store, "b")
    old_bytes = state_path.read_bytes()
    real_replace = os.replace

    def interrupted(source: Any, target: Any) -> None:
        if Path(target) == state_path:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt), store.lock("reconcile apply"):
        store.write(with_records(store.read(), "c"))
    monkeypatch.undo()

    assert state_path.read_bytes() == old_bytes
    assert store.backup_path.read_bytes() == old_bytes  # backed up, then interrupted
    assert store.journal_path.exists()
    assert leftovers(state_path.parent) == []
    assert store.holder() is None  # the lock was released on the way out
    again = LocalStateStore(state_path)
    assert (sorted(again.read().imports), again.read().serial) == (["a", "b", "c"], 3)
    assert write_once(again, "d").serial == 4
    assert not store.journal_path.exists()  # compacted by the next holder


def test_interrupt_before_a_journal_line_is_synced_leaves_a_whole_state(
    store: LocalStateStore, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between writing a line and syncing it: the write happened or did not, never
    half; no temp file stays, and the state is one document again after the lock."""
    write_once(store, "a")
    write_once(store, "b")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    with store.lock("reconcile apply"):
        document = with_records(store.read(), "c")
        monkeypatch.setattr(os, "fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            store.write(document)
        monkeypatch.undo()
    state = LocalStateStore(state_path).read()
    assert sorted(state.imports) in (["a", "b"], ["a", "b", "c"])
    assert not store.journal_path.exists()
    assert leftovers(state_path.parent) == []


WRITER = """
import sys
from reconciler.state.local import LocalStateStore
store = LocalStateStore(sys.argv[1])
with store.lock("reconcile apply"):
    document = store.read()
    print("writing", flush=True)
    while True:
        document = store.write(document)
"""


def test_sigkill_during_writes_leaves_valid_state_and_backup(state_path: Path) -> None:
    names = [f"payments-{n:04d}" for n in range(300)]
    write_once(LocalStateStore(state_path), *names)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(state_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()

    store = LocalStateStore(state_path)
    state = store.read()  # the document and the journal's whole lines; a torn one is not
    assert state.serial > 1, "the writer never wrote"
    assert sorted(state.imports) == names
    assert store.journal_path.exists()
    # The next holder takes over: stale holder record replaced, temp files cleaned up, the
    # journal compacted into the document (the one before it kept as the backup).
    with store.lock("reconcile apply") as info:
        assert store.holder() == info
        assert leftovers(state_path.parent) == []
        assert not store.journal_path.exists()
        assert store.read().serial == state.serial
        assert LocalStateStore(store.backup_path).read().serial == 1
        assert store.write(state).serial == state.serial + 1


# -- the journal ---------------------------------------------------------------------------


def test_each_write_appends_only_what_changed_and_the_lock_compacts_once(
    store: LocalStateStore, state_path: Path
) -> None:
    write_once(store, *[f"imp-{n:04d}" for n in range(1000)])
    document_bytes = state_path.read_bytes()
    with store.lock("reconcile apply"):
        document = store.read()
        for name in ("imp-0001", "imp-0002", "new-one"):
            records = {**document.imports, name: record(name, 7)}
            document = store.write(document.with_records(records))
        assert state_path.read_bytes() == document_bytes  # the document is not rewritten...
        lines = store.journal_path.read_bytes().splitlines()
        assert [json.loads(line)["serial"] for line in lines] == [2, 3, 4]
        assert [list(json.loads(line)["imports"]) for line in lines] == [
            ["imp-0001"], ["imp-0002"], ["new-one"]
        ]  # fmt: skip
        assert max(len(line) for line in lines) < 2000  # ...and a line holds one record
        # Readers see every write at once, without the lock, with the serial advanced.
        seen = LocalStateStore(state_path).read()
        assert (seen.serial, seen.imports["new-one"].identity.start.month) == (4, 7)  # type: ignore[union-attr]
        assert not store.backup_path.exists()  # no backup per write
    assert not store.journal_path.exists()
    assert LocalStateStore(state_path).read() == document
    assert LocalStateStore(store.backup_path).read().serial == 1  # one backup, at compaction


def test_a_removed_record_is_journalled_as_removed(store: LocalStateStore) -> None:
    write_once(store, "a", "b")
    with store.lock("reconcile state rm"):
        document = store.read()
        store.write(document.with_records({"a": document.imports["a"]}))
        assert sorted(LocalStateStore(store.path).read().imports) == ["a"]
    assert sorted(LocalStateStore(store.path).read().imports) == ["a"]


def _journal_of(store: LocalStateStore, *lines: dict[str, Any]) -> None:
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    store.journal_path.write_bytes(body)


def test_a_torn_last_line_is_ignored_and_compacted_away(store: LocalStateStore) -> None:
    first = write_once(store, "a")
    entry = {"lineage": first.lineage, "serial": 2, "imports": {}, "foreign": {}}
    _journal_of(store, entry)
    with store.journal_path.open("ab") as handle:
        handle.write(b'{"lineage": "' + first.lineage.encode() + b'", "ser')  # killed here
    assert LocalStateStore(store.path).read().serial == 2
    assert write_once(store, "b").serial == 3  # after compaction: nothing follows a torn line
    assert not store.journal_path.exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"lineage": "another", "serial": 2}, "belongs to another state"),
        ({"serial": 3}, "serial 3 where 2 was due"),
        ({"serial": "2"}, "not a journal entry"),
        ({"imports": {"x": {"identity": 5}}}, "line 1 is corrupt"),
    ],
)
def test_a_journal_that_does_not_fit_is_refused_and_left_alone(
    store: LocalStateStore, line: dict[str, Any], message: str
) -> None:
    first = write_once(store, "a")
    entry = {"lineage": first.lineage, "serial": 2, "imports": {}, "foreign": {}, **line}
    _journal_of(store, entry)
    before = store.journal_path.read_bytes()
    with pytest.raises(StateError, match=message):
        LocalStateStore(store.path).read()
    with pytest.raises(StateError, match=message), store.lock("reconcile apply"):
        pass
    assert store.journal_path.read_bytes() == before


def test_a_full_disk_mid_line_takes_the_line_back(
    store: LocalStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a line written, then ENOSPC: the write fails as a whole, and the next write (a
    worker recording its StartImport, say) is not appended after a torn line."""
    import errno

    write_once(store, "a")
    real_write = os.write
    calls: list[int] = []

    def filling(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    with store.lock("reconcile apply"):
        document = store.read()
        monkeypatch.setattr(os, "write", filling)
        with pytest.raises(StateError, match="No space left"):
            store.write(with_records(document, "b"))
        monkeypatch.undo()
        assert store.journal_path.read_bytes() == b""  # taken back
        store.write(with_records(document, "c"))
        assert sorted(LocalStateStore(store.path).read().imports) == ["a", "c"]
    assert sorted(LocalStateStore(store.path).read().imports) == ["a", "c"]


def test_lines_already_compacted_are_skipped(store: LocalStateStore) -> None:
    """A crash after the document was rewritten but before the journal was removed."""
    write_once(store, "a")
    second = write_once(store, "b")  # serial 2, compacted
    stale = {"lineage": second.lineage, "serial": 2, "imports": {"zombie": None}, "foreign": {}}
    _journal_of(store, stale)
    assert LocalStateStore(store.path).read() == second


def test_a_journal_without_its_document_is_refused(store: LocalStateStore) -> None:
    write_once(store, "a")
    store.path.unlink()
    _journal_of(store, {"lineage": "x", "serial": 2, "imports": {}, "foreign": {}})
    with pytest.raises(StateError, match="missing but its journal"):
        LocalStateStore(store.path).read()


def test_a_write_by_someone_else_is_seen_although_nothing_is_reparsed(
    store: LocalStateStore,
) -> None:
    """The unchanged check is by the files' signature: an append by another writer (one
    that ignored the lock) changes it, and the write is refused."""
    write_once(store, "a")
    with store.lock("reconcile apply"):
        document = store.read()
        with store.journal_path.open("ab") as handle:
            line = {"lineage": document.lineage, "serial": 2, "imports": {}, "foreign": {}}
            handle.write(json.dumps(line).encode() + b"\n")
        with pytest.raises(StateError, match="changed since it was read"):
            store.write(with_records(document, "b"))


# -- locking -------------------------------------------------------------------------------

HOLDER = """
import sys, time
from reconciler.state.local import LocalStateStore
with LocalStateStore(sys.argv[1]).lock("reconcile apply") as info:
    print(info.lock_id, flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def holder_process(state_path: Path) -> Iterator[Any]:
    """Start a process that holds the lock for `seconds`; returns (process, lock ID)."""
    started: list[subprocess.Popen[str]] = []

    def start(seconds: float) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(state_path), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        lock_id = process.stdout.readline().strip()
        assert lock_id, "the holder process did not take the lock"
        return process, lock_id

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_taken_lock_fails_fast_naming_the_holder(
    store: LocalStateStore, holder_process: Any
) -> None:
    process, lock_id = holder_process(30)
    began = time.monotonic()
    with pytest.raises(LockError) as error, store.lock("reconcile apply", timeout=0):
        pass
    assert time.monotonic() - began < 1
    message = str(error.value)
    holder = LockInfo.new("")
    assert f"state {store.describe()} is locked by {holder.user}@{holder.host}" in message
    assert f"(pid {process.pid}, since " in message
    assert "command 'reconcile apply'" in message
    assert f"lock ID {lock_id})" in message
    assert "--lock-timeout SECONDS" in message
    assert f"`reconcile state force-unlock {lock_id}`" in message
    assert "\n" not in message


def test_lock_timeout_waits_for_the_holder(store: LocalStateStore, holder_process: Any) -> None:
    process, lock_id = holder_process(0.5)
    began = time.monotonic()
    with store.lock("reconcile apply", timeout=10) as info:
        assert 0.3 < time.monotonic() - began < 5  # we waited for the holder to finish
        assert info.lock_id != lock_id
        assert store.holder() == info
    assert process.wait(timeout=5) == 0


def test_lock_timeout_expires(store: LocalStateStore, holder_process: Any) -> None:
    holder_process(30)
    began = time.monotonic()
    with (
        pytest.raises(LockError, match=re.escape("still locked after 0.3 s")),
        store.lock("x", timeout=0.3),
    ):
        pass
    assert 0.3 <= time.monotonic() - began < 2


def test_two_stores_in_one_process_exclude_each_other(state_path: Path) -> None:
    first, second = LocalStateStore(state_path), LocalStateStore(state_path)
    with first.lock("reconcile apply") as info:
        with pytest.raises(LockError, match=info.lock_id), second.lock("reconcile state mv"):
            pass
        with pytest.raises(StateError, match="already locked"), first.lock("again"):
            pass
    assert first.holder() is None
    with second.lock("reconcile state mv"):
        pass


def test_negative_timeout_is_a_programming_error(store: LocalStateStore) -> None:
    with pytest.raises(ValueError), store.lock("x", timeout=-1):
        pass


def test_holder_record_written_while_locked_and_removed_after(store: LocalStateStore) -> None:
    assert store.holder() is None
    with store.lock("reconcile apply") as info:
        assert store.holder() == info
        recorded = json.loads(store.info_path.read_text())
        assert set(recorded) == {"lock_id", "user", "host", "pid", "time", "command"}
        assert recorded["pid"] == os.getpid()
        assert recorded["time"].endswith("Z")
    assert store.holder() is None
    assert not store.info_path.exists()
    assert store.lock_path.exists()  # the flock target stays; it is empty


def test_sigkilled_holder_leaves_a_stale_record_that_never_blocks(
    store: LocalStateStore, holder_process: Any
) -> None:
    process, lock_id = holder_process(30)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stale = store.holder()
    assert stale is not None and stale.lock_id == lock_id  # left behind by the dead process

    with store.lock("reconcile apply", timeout=0) as info:
        assert store.holder() == info  # replaced
    assert store.holder() is None


def test_force_unlock_needs_the_recorded_id(store: LocalStateStore, holder_process: Any) -> None:
    process, lock_id = holder_process(30)
    process.send_signal(signal.SIGKILL)
    process.wait()

    with pytest.raises(StateError, match=f"locked with lock ID {lock_id}, not 1234"):
        store.force_unlock("1234")
    assert store.holder() is not None

    store.force_unlock(lock_id)
    assert store.holder() is None
    with pytest.raises(StateError, match="no lock holder recorded"):
        store.force_unlock(lock_id)


def test_force_unlock_refuses_a_running_holder(state_path: Path) -> None:
    running, other = LocalStateStore(state_path), LocalStateStore(state_path)
    with running.lock("reconcile apply") as info:
        with pytest.raises(StateError, match="running process"):
            other.force_unlock(info.lock_id)
        assert other.holder() == info


def test_stale_temp_files_are_removed_by_the_next_holder(
    store: LocalStateStore, state_path: Path
) -> None:
    state_path.parent.mkdir(parents=True)
    dead = [".state.json.tmp-x1", ".state.json.backup.tmp-x2", ".state.json.lock.info.tmp-x3"]
    unrelated = [".state.json.v2.tmp-x4", "notes.tmp-x5"]
    for name in dead + unrelated:
        (state_path.parent / name).write_text("partial")
    with store.lock("reconcile apply"):
        pass
    assert leftovers(state_path.parent) == sorted(unrelated)


def test_lock_info_json_round_trip() -> None:
    info = LockInfo.new("reconcile apply")
    assert LockInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    with pytest.raises(ValueError):
        LockInfo.from_json({"lock_id": "x"})


# -- location ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        ("cli.json", {"RECONCILE_STATE": "env.json"}, "cli.json"),
        (None, {"RECONCILE_STATE": "env.json"}, "env.json"),
        (None, {}, DEFAULT_STATE_PATH),
        ("", {"RECONCILE_STATE": ""}, DEFAULT_STATE_PATH),
    ],
)
def test_state_location_precedence(option: str | None, env: dict[str, str], expected: str) -> None:
    assert resolve_state_location(option, env) == expected


def test_state_location_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILE_STATE", "from-env.json")
    assert resolve_state_location(None) == "from-env.json"


def test_open_state_store(tmp_path: Path) -> None:
    store = open_state_store(str(tmp_path / "state.json"))
    assert isinstance(store, LocalStateStore)
    assert store.describe() == str(tmp_path / "state.json")


def test_stored_bytes_are_the_document_json_one_record_per_line() -> None:
    """to_bytes is the same JSON as to_json (names with quotes and non-ASCII included),
    laid out with a line per record."""
    names = ["a", 'odd "name" \\ é', "z"]
    document = with_records(StateDocument.empty(), *names).next_version()
    foreign = ForeignImport(
        "id-1",
        "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x",
        "s3://b/",
        datetime(2024, 1, 1, tzinfo=UTC),
        None,
        "COMPLETED",
        None,
        7,
    )
    document = document.with_foreign({"id-1": foreign})
    for each in (document, StateDocument.empty()):
        stored = each.to_bytes()
        assert json.loads(stored) == each.to_json()
        assert StateDocument.from_json(json.loads(stored), source="t") == each
    lines = document.to_bytes().decode().splitlines()
    records = [line for line in lines if line.startswith("    ")]
    assert len(records) == len(names) + 1  # each import and the foreign one on its own line
    assert len(lines) == 1 + 3 + (1 + len(names) + 1) + (1 + 1 + 1) + 1


def test_export_records_are_journalled_replayed_and_compacted(
    store: LocalStateStore, state_path: Path
) -> None:
    from reconciler.exportspec import ExportIdentity
    from reconciler.state.document import ExportRecordState

    write_once(store, "imp-a")
    plain = state_path.read_bytes()
    assert b'"exports"' not in plain  # a state without exports reads and diffs as before
    identity = ExportIdentity(
        DESTINATION, datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 1, 5, 23, 59, 59, 999000, tzinfo=UTC),
    )  # fmt: skip
    sent = datetime(2026, 12, 3, 12, 0, 0, 250000, tzinfo=UTC)
    intent = ExportRecordState("cw", "m.yaml", identity, "arn:aws:iam::123456789012:role/r",
                               intent_at=sent)  # fmt: skip
    with store.lock("reconcile apply"):
        document = store.write(store.read().with_exports({"cw": intent}))
        line = json.loads(store.journal_path.read_bytes().splitlines()[-1])
        assert list(line["exports"]) == ["cw"] and line["imports"] == {}
        # a reader without the lock sees the intent at once, to the millisecond
        assert LocalStateStore(state_path).read().exports["cw"] == intent
        started = ExportRecordState("cw", "m.yaml", identity, intent.role_arn, import_id="t-1")
        document = store.write(document.with_exports({"cw": started}))
    compacted = LocalStateStore(state_path).read()
    assert not store.journal_path.exists()
    assert compacted.exports == {"cw": started} and sorted(compacted.imports) == ["imp-a"]
    with store.lock("reconcile apply"):
        store.write(compacted.with_exports({}))  # forgotten: journalled as removed
    assert LocalStateStore(state_path).read().exports == {}
