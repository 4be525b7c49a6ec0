"""Where the state document lives: the store interface, lock holders, the location rules.

A store reads the document without a lock (plan), and writes it only under its lock (apply,
`state` commands). Every write is optimistic as well as locked: it is refused when the state
changed since this store last read it, so a writer that ignored the lock, or a document read
before the lock was taken, can never overwrite someone else's update (DESIGN.md, "State").

`local.py` holds the local file store; `aws/statestore_s3.py` the S3 store
(`--state s3://bucket/key`), which implements the same `StateStore` protocol with a conditional
put on the ETag it read and an `IfNoneMatch: *` lock object holding the same `LockInfo`. Which
one a location names is decided at the composition root (`cli/app.open_state_store`).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.errors import LockError, StateError, UsageError
from reconciler.fields import format_time, parse_time
from reconciler.state.document import StateDocument

if TYPE_CHECKING:
    pass

DEFAULT_STATE_PATH = ".reconcile/state.json"
STATE_ENV_VAR = "RECONCILE_STATE"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a state lock; recorded next to the lock and shown to whoever has to wait."""

    lock_id: str  # a UUID; `reconcile state force-unlock LOCK_ID` names it
    user: str
    host: str
    pid: int
    time: datetime  # when the lock was taken, UTC
    command: str  # e.g. "reconcile apply"
    ci_run_url: str | None = None  # the CI job that holds it, when known (`ci_run_url()`)

    @classmethod
    def new(cls, command: str, *, ci_run_url: str | None = None) -> LockInfo:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (containers)
            user = "unknown"
        return cls(
            lock_id=str(uuid.uuid4()),
            user=user,
            host=socket.gethostname(),
            pid=os.getpid(),
            time=datetime.now(UTC).replace(microsecond=0),
            command=command,
            ci_run_url=ci_run_url,
        )

    def describe(self) -> str:
        run = f", CI run {self.ci_run_url}" if self.ci_run_url else ""
        return (
            f"{self.user}@{self.host} (pid {self.pid}, since {format_time(self.time)}, "
            f"command '{self.command}'{run}, lock ID {self.lock_id})"
        )

    def to_bytes(self) -> bytes:
        """The holder record as stored next to (or as) the lock."""
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "lock_id": self.lock_id,
            "user": self.user,
            "host": self.host,
            "pid": self.pid,
            "time": format_time(self.time),
            "command": self.command,
        }
        if self.ci_run_url is not None:  # absent rather than null: older records stay as they were
            record["ci_run_url"] = self.ci_run_url
        return record

    @classmethod
    def from_json(cls, data: Any) -> LockInfo:
        """Parse a holder record; raises ValueError if it is not one."""
        if not isinstance(data, dict):
            raise ValueError("a lock holder record must be a JSON object")
        try:
            fields = {key: data[key] for key in ("lock_id", "user", "host", "command", "time")}
            if not all(isinstance(value, str) for value in fields.values()):
                raise ValueError("lock_id, user, host, command and time must be strings")
            pid = data["pid"]
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise ValueError("pid must be an integer")
            moment = parse_time(fields.pop("time"))
        except KeyError as exc:
            raise ValueError(f"a lock holder record has no {exc}") from None
        ci_run_url = data.get("ci_run_url")  # optional: records written before it existed lack it
        if ci_run_url is not None and not isinstance(ci_run_url, str):
            raise ValueError("ci_run_url must be a string")
        return cls(pid=pid, time=moment.astimezone(UTC), ci_run_url=ci_run_url, **fields)


def ci_run_url(env: Mapping[str, str] = os.environ) -> str | None:
    """The URL of the CI job this process runs in, when the CI says (GitHub Actions, GitLab)."""
    server, repository, run_id = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repository and run_id:
        return f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
    return env.get("CI_JOB_URL") or None


class StateStore(Protocol):
    """What every state store offers; the CLI and the applier see only this."""

    def describe(self) -> str:
        """The location, for messages ("state <describe()> is locked by ...")."""
        ...

    def read(self) -> StateDocument:
        """The current document, without the lock. No state yet gives `StateDocument.empty()`.

        A corrupt, truncated or newer-format state raises StateError (and is left untouched).
        Remembers what it read: `write` refuses if the state changed since.
        """
        ...

    def lock(self, command: str, timeout: float = 0) -> AbstractContextManager[LockInfo]:
        """Hold the state lock for the `with` block; yields this holder's record.

        `timeout` is how many seconds to wait for another holder (0: fail at once). A lock
        that stays taken raises LockError naming its holder.
        """
        ...

    def write(self, document: StateDocument) -> StateDocument:
        """Write `document.next_version()` (serial + 1) atomically and return it.

        Only while this store holds the lock, and only if the state is still the one this
        store last read or wrote and the one `document` is based on (same lineage and serial);
        otherwise StateError and nothing is written. The previous version is kept as a backup.
        """
        ...

    def holder(self) -> LockInfo | None:
        """The recorded lock holder, if any (may be stale after a crash: see the store)."""
        ...

    def force_unlock(self, lock_id: str) -> None:
        """Remove a lock left by a holder that is gone; only when `lock_id` is the recorded one."""
        ...


def resolve_state_location(option: str | None, env: Mapping[str, str] = os.environ) -> str:
    """`--state PATH` wins over `RECONCILE_STATE`, which wins over `.reconcile/state.json`."""
    if option:
        return option
    return env.get(STATE_ENV_VAR) or DEFAULT_STATE_PATH


def parse_s3_location(location: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); UsageError for anything that names no object."""
    bucket, _, key = location.removeprefix("s3://").partition("/")
    problem = (
        "it names no bucket"
        if not bucket
        else "it names no object key"
        if not key
        else "its key ends with / (a folder, not an object)"
        if key.endswith("/")
        else None
    )
    if problem:
        raise UsageError(
            f"state {location}: {problem}; an S3 state location names one object, as in "
            "s3://BUCKET/path/state.json."
        )
    return bucket, key


def locked_error(source: str, holder: LockInfo | None, timeout: float) -> LockError:
    """The message for a lock we could not take, naming its holder (shared by all stores)."""
    still = f"still locked after {timeout:g} s" if timeout > 0 else "locked"
    if holder is None:
        return LockError(
            f"state {source} is {still} by another process (its holder details are not "
            "recorded yet).",
            hint="Wait for it to finish, or retry with --lock-timeout SECONDS.",
        )
    return LockError(
        f"state {source} is {still} by {holder.describe()}.",
        hint=(
            "Wait for it to finish, retry with --lock-timeout SECONDS, or if that process is "
            f"gone run `reconcile state force-unlock {holder.lock_id}`."
        ),
    )


def _version(lineage: str, serial: int) -> str:
    return f"serial {serial} of lineage {lineage}" if lineage else "absent (never written)"


def check_unchanged(
    source: str,
    last_seen: tuple[str, int] | None,
    current: StateDocument,
    document: StateDocument,
) -> None:
    """Refuse a write when the stored state is not the one the writer started from.

    `last_seen` is (lineage, serial) as this store last read or wrote it (None: never read);
    `current` is what is stored now; `document` is what the caller wants to write.
    """
    now = (current.lineage, current.serial)
    if last_seen is not None and last_seen != now:
        raise StateError(
            f"state {source} changed since it was read: it was {_version(*last_seen)} and is "
            f"now {_version(*now)}, so another process wrote it. Nothing was written; run the "
            "command again to start from the current state."
        )
    if (document.lineage, document.serial) != now:
        raise StateError(
            f"state {source} is {_version(*now)}, but the document to write is based on "
            f"{_version(document.lineage, document.serial)}. Nothing was written; read the "
            "state again and redo the change on top of it."
        )


def parse_state_bytes(raw: bytes, source: str, untouched: str) -> StateDocument:
    """Bytes of a stored state -> the document, or a StateError that says what is wrong and
    (`untouched`) that nothing was overwritten and how to recover. Shared by every store."""
    if not raw.strip():
        raise StateError(f"state {source} is empty (a truncated write?); {untouched}")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StateError(
            f"state {source} is not UTF-8 text (bad byte at offset {exc.start}), so it is "
            f"corrupt; {untouched}"
        ) from None
    except json.JSONDecodeError as exc:
        raise StateError(
            f"state {source} is not valid JSON ({exc.msg}: line {exc.lineno} column "
            f"{exc.colno}), so it is truncated or corrupt; {untouched}"
        ) from None
    except RecursionError:
        raise StateError(f"state {source} is nested too deeply to be state; {untouched}") from None
    return StateDocument.from_json(document, source=source)
