"""The state in a local file, written atomically and guarded by an OS lock.

Files, for a state at `.reconcile/state.json` (all mode 0600; the directory 0700 if we create it):
- `state.json`: the document. Replaced only by `os.replace` of a fully written, fsynced temp
  file in the same directory, so a crash or SIGKILL at any moment leaves the old or the new
  version, never a truncated one.
- `state.json.journal`: the writes since the document was last written whole, one appended,
  fsynced line each (state/journal.py). Reading replays it over the document; the lock's
  holder compacts it into the document when it takes the lock and when it lets go, so a
  step of apply costs one small append whatever the number of records.
- `state.json.backup`: the previous version, copied the same atomic way before each
  compaction (once per run, not per write).
- `state.json.lock`: the flock target (filelock). The kernel releases it when its holder
  exits, however it exits; the empty file stays.
- `state.json.lock.info`: the holder's `LockInfo` as JSON, written after taking the lock and
  removed on release. A killed holder leaves it behind, stale: whoever takes the OS lock next
  overwrites it, so a stale record never blocks anyone.
- `.state.json.tmp-*` and friends: temp files of a write that was killed; harmless, and
  removed by the next holder of the lock.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from reconciler.errors import StateError
from reconciler.faultpoints import crash_point, crash_point_wanted
from reconciler.state import journal
from reconciler.state.document import StateDocument
from reconciler.state.store import (
    DEFAULT_STATE_PATH,
    LockInfo,
    check_unchanged,
    locked_error,
    parse_state_bytes,
)

FILE_MODE = 0o600
DIR_MODE = 0o700
# A holder writes its record right after taking the lock: give a contender that long to see it.
_HOLDER_SETTLE_SECONDS = 0.3


class LocalStateStore:
    """A `StateStore` on the local file system (see the module docstring for the files)."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STATE_PATH) -> None:
        self.path = Path(path)
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.info_path = self.path.with_name(self.path.name + ".lock.info")
        self.journal_path = self.path.with_name(self.path.name + journal.JOURNAL_SUFFIX)
        self._last_seen: tuple[str, int] | None = None
        self._held: LockInfo | None = None
        # What this store last read or wrote, and the files' signature then: a write whose
        # files still look the same builds on it without reading and parsing them again.
        self._known: StateDocument | None = None
        self._known_files: tuple[object, object] | None = None
        self._torn = False  # a failed append could not be taken back (see _append)

    def describe(self) -> str:
        return os.fspath(self.path)

    # -- reading -------------------------------------------------------------------------

    def read(self) -> StateDocument:
        document = self._load()
        self._last_seen = (document.lineage, document.serial)
        return document

    def _read_bytes(self, path: Path | None = None) -> bytes | None:
        path = path or self.path
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block apply forever
                raise StateError(
                    f"state {os.fspath(path)} is not a regular file (a FIFO, device or "
                    "folder); point --state (or RECONCILE_STATE) at a file, or at a new path."
                )
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(
                f"state {os.fspath(path)} cannot be read: {exc.strerror or exc}."
            ) from None

    def _parse(self, raw: bytes) -> StateDocument:
        source = self.describe()
        untouched = (
            f"it was left untouched. Restore {os.fspath(self.backup_path)} if it is valid, or "
            "move the file away to start over (plan then adopts existing imports by identity, "
            "so nothing is started twice)."
        )
        return parse_state_bytes(raw, source, untouched)

    def _files(self) -> tuple[object, object]:
        """A signature of the document and the journal: any write by anyone changes it."""
        return _signature(self.path), _signature(self.journal_path)

    def _load(self) -> StateDocument:
        return self._load_with_raw()[0]

    def _load_with_raw(self) -> tuple[StateDocument, bytes | None]:
        """The document with its journal replayed, and the document's bytes. Without the
        lock a holder may compact between our two reads: then the files' signature changed,
        and we read again."""
        for _ in range(20):
            before = self._files()
            raw = self._read_bytes()
            logged = self._read_bytes(self.journal_path)
            files = self._files()
            if files == before:
                break
        else:
            raise StateError(
                f"state {self.describe()} kept changing while it was read (another run is "
                "writing it); nothing was changed. Run the command again."
            )
        document = StateDocument.empty() if raw is None else self._parse(raw)
        if logged:
            if raw is None:
                raise StateError(
                    f"state {self.describe()} is missing but its journal "
                    f"{os.fspath(self.journal_path)} is there; both were left untouched. "
                    f"Restore {os.fspath(self.backup_path)} as the state if it is valid, or "
                    "move the journal away to start over."
                )
            document = journal.replay(document, logged, self.describe())
        self._known, self._known_files = document, files
        return document, raw

    # -- writing -------------------------------------------------------------------------

    def write(self, document: StateDocument) -> StateDocument:
        source = self.describe()
        if self._held is None:
            raise StateError(f"state {source} can only be written while holding its lock.")
        # Validate what is there before writing: a state we cannot read is never overwritten,
        # and one that changed since we read it means someone else wrote. Files that look
        # as they did after our last read or write hold what we know: no re-parse needed.
        if self._torn:
            raise StateError(
                f"state {source}: an earlier write in this run could not be taken back from "
                f"the journal {os.fspath(self.journal_path)}; nothing more is written. The next "
                "run compacts it (a torn last line is ignored)."
            )
        current = self._known
        if current is None or self._files() != self._known_files:
            current = self._load()
        check_unchanged(source, self._last_seen, current, document)
        new = document.next_version()
        try:
            if current.exists:
                self._append(journal.entry(current, new))
            else:
                self._write_whole(new, None)  # the first write: there is no document to extend
        except OSError as exc:
            raise StateError(
                f"state {source} could not be written ({_problem(exc)}); the previous version "
                "is unchanged."
            ) from None
        self._last_seen = (new.lineage, new.serial)
        self._known, self._known_files = new, self._files()
        return new

    def _append(self, line: bytes) -> None:
        """One journal line, fsynced before we return (the caller's next step relies on it)."""
        created = not self.journal_path.exists()
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(line)
                if crash_point_wanted("mid_journal"):  # crash tests: half a line, then SIGKILL
                    view = view[os.write(fd, view[: len(line) // 2]) :]
                    os.fsync(fd)
                    crash_point("mid_journal")
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except BaseException:
                # A full disk, an I/O error or Ctrl-C mid-line: take the line back, so the
                # write did not happen and a later append never follows a torn line. If even
                # that fails, this store writes nothing more until the journal is compacted.
                try:
                    os.ftruncate(fd, size)
                    os.fsync(fd)
                except OSError:
                    self._torn = True
                raise
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.journal_path.parent)  # the new file's name must survive too

    def _write_whole(self, document: StateDocument, raw: bytes | None) -> None:
        """The document in one file: the backup of `raw` first (a crash between the two
        replaces leaves backup == state), then the state, then the journal it folds in."""
        self._make_directory()
        payload = document.to_bytes()
        if raw is not None:
            _atomic_write(self.backup_path, raw)
        _atomic_write(self.path, payload)
        crash_point("mid_compaction")  # crash tests: the document is whole, the journal stays
        if self.journal_path.exists():
            self.journal_path.unlink()
            _fsync_directory(self.journal_path.parent)

    def _compact(self) -> None:
        """Fold the journal into the document (lock held). Replaying it first also drops a
        torn last line, so nothing is ever appended after one."""
        if not self.journal_path.exists():
            return
        document, raw = self._load_with_raw()
        if raw is None:
            return  # _load refused a journal without a document already
        try:
            self._write_whole(document, raw)
        except OSError as exc:
            raise StateError(
                f"state {self.describe()} could not be compacted ({_problem(exc)}); the "
                "document and its journal are unchanged and still hold every write."
            ) from None
        self._known, self._known_files = document, self._files()

    def _make_directory(self) -> None:
        """A new state folder is 0700 whatever the umask (mkdir's mode is masked by it); an
        existing folder is left as its owner set it."""
        folder = self.path.parent
        if folder.is_dir():
            return
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(folder, DIR_MODE)

    # -- locking -------------------------------------------------------------------------

    @contextmanager
    def lock(self, command: str, timeout: float = 0) -> Iterator[LockInfo]:
        if timeout < 0:
            raise ValueError("lock timeout must be 0 (fail at once) or a number of seconds")
        if self._held is not None:
            raise StateError(f"state {self.describe()} is already locked by this process.")
        try:
            self._make_directory()
        except OSError as exc:
            raise StateError(
                f"state {self.describe()}: cannot create its directory ({exc.strerror or exc})."
            ) from None
        file_lock = FileLock(self.lock_path, mode=FILE_MODE)
        try:
            file_lock.acquire(timeout=timeout, blocking=timeout > 0)
        except Timeout:
            raise locked_error(self.describe(), self._settled_holder(), timeout) from None
        except OSError as exc:
            raise StateError(
                f"state {self.describe()}: cannot take the lock on {os.fspath(self.lock_path)} "
                f"({exc.strerror or exc})."
            ) from None
        info: LockInfo | None = None
        try:
            info = LockInfo.new(command)
            self._remove_stale_temp_files()
            # Any record already there is stale (its holder is gone, or we would not hold the
            # OS lock): replace it.
            try:
                _atomic_write(self.info_path, info.to_bytes())
            except OSError as exc:
                raise StateError(
                    f"state {self.describe()}: cannot record the lock holder in "
                    f"{os.fspath(self.info_path)} ({exc.strerror or exc})."
                ) from None
            self._held = info
            self._compact()  # a journal left by a run that was killed
            self._torn = False
            yield info
        finally:
            try:
                if self._held is not None:
                    # The run's writes become one document (and one backup). If that fails,
                    # the journal still holds them, and the next holder compacts it.
                    with suppress(StateError):
                        self._compact()
            finally:  # a Ctrl-C during compaction still lets go of the lock
                self._held = None
                try:
                    recorded = self.holder()
                    if (
                        info is not None
                        and recorded is not None
                        and recorded.lock_id == info.lock_id
                    ):
                        self.info_path.unlink(missing_ok=True)
                finally:
                    file_lock.release()

    def holder(self) -> LockInfo | None:
        """The recorded holder. After a holder was killed this record is stale (the OS lock
        is already free); it is replaced by the next `lock` and can be cleared by
        `force_unlock`. An unreadable record counts as none."""
        try:
            return LockInfo.from_json(json.loads(self.info_path.read_bytes()))
        except (OSError, ValueError, RecursionError):  # missing, or not a record we wrote
            return None

    def _settled_holder(self) -> LockInfo | None:
        # The holder may have taken the OS lock a moment ago and not yet written its record.
        deadline = time.monotonic() + _HOLDER_SETTLE_SECONDS
        while (holder := self.holder()) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return holder

    def force_unlock(self, lock_id: str) -> None:
        """Clear the holder record of a process that is gone.

        For a local state the OS lock itself is released by the kernel when its holder dies,
        so this only removes the stale record (for parity with stores whose lock is an object,
        like S3). If the holder is still running, its lock cannot be broken from outside:
        this refuses and says so, rather than pretend.
        """
        source = self.describe()
        recorded = self.holder()
        if recorded is None:
            raise StateError(f"state {source} has no lock holder recorded; nothing to unlock.")
        if recorded.lock_id != lock_id:
            raise StateError(
                f"state {source} is locked with lock ID {recorded.lock_id}, not {lock_id}; "
                f"nothing was changed. The holder is {recorded.describe()}."
            )
        probe = FileLock(self.lock_path, mode=FILE_MODE)
        try:
            probe.acquire(blocking=False)
        except Timeout:
            raise StateError(
                f"state {source} is locked by a running process: {recorded.describe()}. A local "
                "lock is released by the operating system when its holder exits; stop that "
                "process instead of force-unlocking."
            ) from None
        try:
            self.info_path.unlink(missing_ok=True)
        finally:
            probe.release()

    def _remove_stale_temp_files(self) -> None:
        # Called while holding the lock: any temp file of ours is from a writer that died.
        for name in (self.path.name, self.backup_path.name, self.info_path.name):
            for leftover in self.path.parent.glob(f".{_glob_escape(name)}.tmp-*"):
                with suppress(OSError):
                    leftover.unlink()


def _problem(exc: OSError) -> str:
    """What the OS said, and about which file: "No space left on device: /path"."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _signature(path: Path) -> object:
    """Inode, size and change time: a replace or an append changes at least one."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def _glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new bytes, never a mix.

    Temp file in the same directory (same file system, so `os.replace` is atomic), written,
    flushed and fsynced, mode 0600, renamed over the target; then the directory is fsynced
    so the rename itself survives a power cut.
    """
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        crash_point("mid_write")  # crash tests: the temp file is written, not yet renamed
        os.replace(temp_name, path)
    except BaseException:  # KeyboardInterrupt included: never leave a half-written temp file
        with suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows cannot open a directory; the rename is still atomic
        return
    try:
        with suppress(OSError):  # some file systems refuse fsync on a directory
            os.fsync(fd)
    finally:
        os.close(fd)
