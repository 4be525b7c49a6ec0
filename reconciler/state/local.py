"""The state in a local file, written atomically and guarded by an OS lock.

Files, for a state at `.reconcile/state.json` (all mode 0600; the directory 0700 if we create it):
- `state.json`: the document. Replaced only by `os.replace` of a fully written, fsynced temp
  file in the same directory, so a crash or SIGKILL at any moment leaves the old or the new
  version, never a truncated one.
- `state.json.backup`: the previous version, copied the same atomic way before each replace.
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
from reconciler.faultpoints import crash_point
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
        self._last_seen: tuple[str, int] | None = None
        self._held: LockInfo | None = None

    def describe(self) -> str:
        return os.fspath(self.path)

    # -- reading -------------------------------------------------------------------------

    def read(self) -> StateDocument:
        document = self._load()
        self._last_seen = (document.lineage, document.serial)
        return document

    def _read_bytes(self) -> bytes | None:
        try:
            if not stat.S_ISREG(self.path.stat().st_mode):  # a FIFO would block apply forever
                raise StateError(
                    f"state {self.describe()} is not a regular file (a FIFO, device or "
                    "folder); point --state (or RECONCILE_STATE) at a file, or at a new path."
                )
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(
                f"state {self.describe()} cannot be read: {exc.strerror or exc}."
            ) from None

    def _parse(self, raw: bytes) -> StateDocument:
        source = self.describe()
        untouched = (
            f"it was left untouched. Restore {os.fspath(self.backup_path)} if it is valid, or "
            "move the file away to start over (plan then adopts existing imports by identity, "
            "so nothing is started twice)."
        )
        return parse_state_bytes(raw, source, untouched)

    def _load(self) -> StateDocument:
        raw = self._read_bytes()
        return StateDocument.empty() if raw is None else self._parse(raw)

    # -- writing -------------------------------------------------------------------------

    def write(self, document: StateDocument) -> StateDocument:
        source = self.describe()
        if self._held is None:
            raise StateError(f"state {source} can only be written while holding its lock.")
        # Validate what is there before replacing it: a state we cannot read is never
        # overwritten, and one that changed since we read it means someone else wrote.
        raw = self._read_bytes()
        current = StateDocument.empty() if raw is None else self._parse(raw)
        check_unchanged(source, self._last_seen, current, document)
        new = document.next_version()
        payload = json.dumps(new.to_json(), indent=2, ensure_ascii=False) + "\n"
        try:
            self._make_directory()
            if raw is not None:
                # Backup first: a crash between the two replaces leaves backup == state (old).
                _atomic_write(self.backup_path, raw)
            _atomic_write(self.path, payload.encode("utf-8"))
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise StateError(
                f"state {source} could not be written ({exc.strerror or exc}{where}); the "
                "previous version is unchanged."
            ) from None
        self._last_seen = (new.lineage, new.serial)
        return new

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
            yield info
        finally:
            self._held = None
            try:
                recorded = self.holder()
                if info is not None and recorded is not None and recorded.lock_id == info.lock_id:
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
