"""The state in S3 (`--state s3://bucket/key`): conditional writes and a lock object.

Objects, for a state at `s3://bucket/path/state.json`:
- `path/state.json`: the document. Every write is a PutObject conditional on the ETag this
  store last read or wrote (`IfMatch`), or `IfNoneMatch: *` when there was no state yet, so a
  lost update is impossible: if anyone wrote in between, S3 answers 412 and nothing is written
  ("changed underneath"). Server-side encryption is the bucket's default.
- Previous versions: when the bucket has versioning enabled, S3 keeps them and nothing else is
  written. Otherwise, once per lock hold (one run), before its first write, the version being
  replaced is written to `path/state.json.backup.N`, N being that version's serial: a step of
  apply then costs one PutObject, not three. The newest `BACKUPS_KEPT` backups are kept; older
  ones are found with ListObjectsV2 and deleted (without s3:ListBucket, or on any failure, they
  are left: a failed deletion is never a failed write).
- `path/state.json.lock`: the lock, created with PutObject `IfNoneMatch: *` (as terraform's S3
  backend does with `use_lockfile`) and holding the holder's `LockInfo` as JSON. Released by
  DeleteObject `IfMatch` its ETag, and only while it still holds our lock ID: a lock that was
  force-unlocked and taken by someone else is never deleted by us. A holder killed before it
  released leaves the object behind; it is reported as stale once older than `LOCK_LEASE`,
  and never broken automatically (a long `apply --wait` may hold it for hours):
  `reconcile state force-unlock LOCK_ID` removes it.
In a versioned bucket every lock and unlock leaves a noncurrent version or delete marker of the
`.lock` key: a lifecycle rule expiring noncurrent versions keeps that small.

Permissions needed: s3:GetObject, s3:PutObject and s3:DeleteObject on the key, `KEY.lock` and
`KEY.backup.*`, and s3:GetBucketVersioning (without it, numbered backups are written);
s3:ListBucket on the bucket lets old numbered backups be pruned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory
from reconciler.errors import LockError, StateError
from reconciler.state.document import StateDocument
from reconciler.state.store import (
    LockInfo,
    check_unchanged,
    ci_run_url,
    locked_error,
    parse_state_bytes,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A lock older than this is reported as stale (never broken automatically).
LOCK_LEASE = timedelta(hours=1)
# Numbered backups kept when the bucket has no versioning.
BACKUPS_KEPT = 5
# How often a `--lock-timeout` wait asks again.
LOCK_POLL_SECONDS = 0.5

_PRECONDITION = frozenset({"PreconditionFailed", "412"})
# Real S3 answers 409 when another conditional write on the key is in flight.
_CONFLICT = frozenset({"ConditionalRequestConflict", "409"})
_MISSING = frozenset({"NoSuchKey", "404"})
_DENIED = frozenset({"AccessDenied", "403"})
_JSON = "application/json"


@dataclass(frozen=True)
class _Seen:
    """The state object as this store last read or wrote it."""

    document: StateDocument
    etag: str | None  # None: there was no object
    raw: bytes | None  # its bytes, written as the backup before it is replaced
    version_id: str | None = None  # set when the bucket is versioned


@dataclass(frozen=True)
class _LockObject:
    exists: bool
    info: LockInfo | None = None  # None if missing or not a record we can read
    etag: str | None = None


class S3StateStore:
    """A `StateStore` in one S3 object (see the module docstring for the objects)."""

    def __init__(
        self, bucket: str, key: str, factory: ClientFactory, region: str | None = None
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.lock_key = f"{key}.lock"
        self.factory = factory
        self.region = region
        self._client: S3Client | None = None
        self._seen: _Seen | None = None
        self._held: LockInfo | None = None
        self._versioned: bool | None = None
        self._backed_up = False  # this lock hold has written its backup (or needs none)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def backup_key(self, serial: int) -> str:
        """Where the version with `serial` is kept once replaced (unversioned buckets)."""
        return f"{self.key}.backup.{serial}"

    @property
    def _s3(self) -> S3Client:
        if self._client is None:  # built on first use: opening a store does no I/O
            self._client = self.factory.client("s3", self.region)
        return self._client

    # -- reading -------------------------------------------------------------------------

    def read(self) -> StateDocument:
        seen = self._fetch()
        self._seen = seen
        return seen.document

    def _get(self, key: str) -> tuple[bytes, str, str | None]:
        """GetObject: (bytes, ETag, VersionId); AwsCallError (NoSuchKey...) if it fails."""

        def get() -> tuple[bytes, str, str | None]:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read(), response["ETag"], response.get("VersionId")

        return call("GetObject", get)

    def _fetch(self) -> _Seen:
        try:
            raw, etag, version_id = self._get(self.key)
        except AwsCallError as exc:
            if exc.code in _MISSING:
                return _Seen(StateDocument.empty(), etag=None, raw=None)
            raise self._failed(exc, "could not be read") from None
        return _Seen(self._parse(raw), etag=etag, raw=raw, version_id=version_id)

    def _parse(self, raw: bytes) -> StateDocument:
        source = self.describe()
        untouched = (
            "it was left untouched. Restore a previous version (bucket versioning, or "
            f"s3://{self.bucket}/{self.key}.backup.N) if one is valid, or move the object away "
            "to start over (plan then adopts existing imports by identity, so nothing is "
            "started twice)."
        )
        return parse_state_bytes(raw, source, untouched)

    # -- writing -------------------------------------------------------------------------

    def write(self, document: StateDocument) -> StateDocument:
        source = self.describe()
        if self._held is None:
            raise StateError(f"state {source} can only be written while holding its lock.")
        # The ETag condition below proves the object is still the one we validated when we
        # read it; a store that never read learns (and validates) the current object first.
        seen = self._seen if self._seen is not None else self._fetch()
        check_unchanged(source, None, seen.document, document)
        new = document.next_version()
        payload = new.to_bytes()
        backup = seen.raw is not None and not self._backed_up and not self._bucket_versioned()
        if backup:
            self._write_backup(seen)
        try:
            etag, version_id = call("PutObject", lambda: self._put_state(payload, seen.etag))
        except AwsCallError as exc:
            if exc.code not in _PRECONDITION | _CONFLICT | _MISSING:
                raise self._failed(
                    exc, "could not be written; the previous version is unchanged"
                ) from None
            landed = self._landed(payload)  # a retry whose first response was lost
            if landed is None:
                raise self._changed_underneath(seen) from None
            etag, version_id = landed
        self._seen = _Seen(new, etag=etag, raw=payload, version_id=version_id)
        self._backed_up = True
        if backup:
            self._prune_backups()
        return new

    def _put_state(self, payload: bytes, etag: str | None) -> tuple[str, str | None]:
        """PutObject only if the object is still `etag` (None: only if there is none)."""
        if etag:
            response = self._s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=payload, ContentType=_JSON, IfMatch=etag
            )
        else:
            response = self._s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=payload, ContentType=_JSON, IfNoneMatch="*"
            )
        return response["ETag"], response.get("VersionId")

    def _landed(self, payload: bytes) -> tuple[str, str | None] | None:
        """(ETag, VersionId) if the state object holds exactly `payload`, else None."""
        try:
            raw, etag, version_id = self._get(self.key)
        except AwsCallError:
            return None
        return (etag, version_id) if raw == payload else None

    def _changed_underneath(self, seen: _Seen) -> StateError:
        what = (
            f"it was serial {seen.document.serial} of lineage {seen.document.lineage} "
            f"(ETag {seen.etag})"
            if seen.etag
            else "there was no state object"
        )
        return StateError(
            f"state {self.describe()} changed underneath: someone else wrote it since this run "
            f"read it ({what} then). Nothing was written; run the command again to start from "
            "the current state."
        )

    def _bucket_versioned(self) -> bool:
        if self._versioned is None:
            try:
                response = call(
                    "GetBucketVersioning",
                    lambda: self._s3.get_bucket_versioning(Bucket=self.bucket),
                )
                self._versioned = response.get("Status") == "Enabled"
            except AwsCallError as exc:
                if exc.code not in _DENIED:
                    raise self._failed(
                        exc, "could not be written; the previous version is unchanged"
                    ) from None
                self._versioned = False  # not allowed to ask: keep numbered backups to be safe
        return self._versioned

    def _prune_backups(self) -> None:
        """Delete all but the newest BACKUPS_KEPT numbered backups. Backups are written once
        per run, so their serials have gaps: they are listed, not guessed."""
        prefix = self.backup_key(0).removesuffix("0")
        with suppress(AwsCallError):  # the state is written; a leftover backup harms nothing
            found = []
            for page in call(
                "ListObjectsV2",
                lambda: list(
                    self._s3.get_paginator("list_objects_v2").paginate(
                        Bucket=self.bucket, Prefix=prefix
                    )
                ),
            ):
                for item in page.get("Contents", ()):
                    number = item["Key"].removeprefix(prefix)
                    if number.isdigit():
                        found.append(int(number))
            for old in sorted(found)[:-BACKUPS_KEPT]:
                self._delete(self.backup_key(old))

    def _delete(self, key: str) -> None:
        call("DeleteObject", lambda: self._s3.delete_object(Bucket=self.bucket, Key=key))

    def _write_backup(self, seen: _Seen) -> None:
        # The bytes we read, not a server-side copy: the backup is exactly the version that
        # the conditional put replaces, whoever writes in between.
        key, raw = self.backup_key(seen.document.serial), seen.raw or b""
        try:
            call(
                "PutObject",
                lambda: self._s3.put_object(
                    Bucket=self.bucket, Key=key, Body=raw, ContentType=_JSON
                ),
            )
        except AwsCallError as exc:
            raise self._failed(
                exc, f"could not be written (backup to {key}); the previous version is unchanged"
            ) from None

    # -- locking -------------------------------------------------------------------------

    @contextmanager
    def lock(self, command: str, timeout: float = 0) -> Iterator[LockInfo]:
        if timeout < 0:
            raise ValueError("lock timeout must be 0 (fail at once) or a number of seconds")
        if self._held is not None:
            raise StateError(f"state {self.describe()} is already locked by this process.")
        info = LockInfo.new(command, ci_run_url=ci_run_url())
        try:
            self._acquire(info, timeout)
        except (KeyboardInterrupt, SystemExit):
            self._release(info)  # the put may have landed; removes the lock only if it is ours
            raise
        self._held = info
        self._backed_up = False
        try:
            yield info
        except BaseException as exc:
            self._held = None
            problem = self._release(info)
            if problem:  # keep the body's own error; say what happened to the lock beside it
                exc.add_note(problem)
            raise
        self._held = None
        problem = self._release(info)
        if problem:
            raise StateError(problem)

    def _acquire(self, info: LockInfo, timeout: float) -> None:
        body = info.to_bytes()
        deadline = time.monotonic() + timeout
        vanished = 0
        while True:
            try:
                call(
                    "PutObject",
                    lambda: self._s3.put_object(
                        Bucket=self.bucket,
                        Key=self.lock_key,
                        Body=body,
                        ContentType=_JSON,
                        IfNoneMatch="*",
                    ),
                )
                return
            except AwsCallError as exc:
                if exc.code not in _PRECONDITION | _CONFLICT:
                    raise self._failed(exc, "could not be locked") from None
            current = self._lock_object()
            if current.info is not None and current.info.lock_id == info.lock_id:
                return  # our own put landed: its response was lost and the retry saw it
            if not current.exists and vanished < 10:
                vanished += 1  # released between our put and our read: try again at once
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._locked(current, timeout)
            time.sleep(min(LOCK_POLL_SECONDS, remaining))

    def _locked(self, current: _LockObject, timeout: float) -> LockError:
        source, lock_uri = self.describe(), f"s3://{self.bucket}/{self.lock_key}"
        holder = current.info
        if holder is None:
            still = f"still locked after {timeout:g} s" if timeout > 0 else "locked"
            return LockError(
                f"state {source} is {still}, but its lock object {lock_uri} holds no holder "
                "record this reconcile can read.",
                hint=(
                    f"Look at it (`aws s3 cp {lock_uri} -`); if no run is using the state, "
                    f"delete it (`aws s3 rm {lock_uri}`)."
                ),
            )
        error = locked_error(source, holder, timeout)
        age = datetime.now(UTC) - holder.time
        if age <= LOCK_LEASE:
            return error
        return LockError(
            f"{error.message} It looks stale (held for {_duration(age)}, lease "
            f"{_duration(LOCK_LEASE)}): if that run is gone, run "
            f"`reconcile state force-unlock {holder.lock_id}`.",
            hint="Locks are never broken automatically: a long `apply --wait` may hold one.",
        )

    def _release(self, info: LockInfo) -> str | None:
        """Delete our lock object; a sentence saying why not, if it could not be done."""
        source = self.describe()
        retry = f"if this run is over, run `reconcile state force-unlock {info.lock_id}`."
        try:
            current = self._lock_object()
        except StateError as exc:
            return f"The lock of state {source} may still be held ({exc.message}); {retry}"
        if not current.exists:
            return (
                f"The lock of state {source} (lock ID {info.lock_id}) was removed by someone "
                "else while this run held it (force-unlock?); writes were still refused if the "
                "state changed underneath."
            )
        if current.info is None or current.info.lock_id != info.lock_id:
            other = current.info.describe() if current.info else "an unreadable record"
            return (
                f"The lock of state {source} (lock ID {info.lock_id}) was replaced while this "
                f"run held it, now by {other}; that lock was left in place. Writes of this run "
                "were still refused if the state changed underneath."
            )
        problem = self._delete_lock(current)
        if problem:
            return f"The lock of state {source} could not be released ({problem}); {retry}"
        return None

    def _delete_lock(self, current: _LockObject) -> str | None:
        """Delete the lock object if it is still `current`; None, or what went wrong."""
        etag = current.etag or ""  # always set for an object that exists
        try:
            call(
                "DeleteObject",
                lambda: self._s3.delete_object(Bucket=self.bucket, Key=self.lock_key, IfMatch=etag),
            )
        except AwsCallError as exc:
            if exc.code in _MISSING:
                return None  # already gone
            if exc.code in _PRECONDITION | _CONFLICT:
                return "it changed while being removed, so it was left in place"
            if exc.code not in {"NotImplemented", "501"}:
                return str(exc).rstrip(".")
            # An S3 without conditional deletes: we just compared the lock ID; delete plainly.
            try:
                call(
                    "DeleteObject",
                    lambda: self._s3.delete_object(Bucket=self.bucket, Key=self.lock_key),
                )
            except AwsCallError as plain:
                return str(plain).rstrip(".")
        return None

    def _lock_object(self) -> _LockObject:
        try:
            raw, etag, _ = self._get(self.lock_key)
        except AwsCallError as exc:
            if exc.code in _MISSING:
                return _LockObject(exists=False)
            raise self._failed(exc, "could not read its lock") from None
        try:
            info: LockInfo | None = LockInfo.from_json(json.loads(raw))
        except (ValueError, RecursionError):  # not a record we wrote
            info = None
        return _LockObject(exists=True, info=info, etag=etag)

    def holder(self) -> LockInfo | None:
        """The recorded holder, if any. A holder killed before it released leaves its lock
        behind: `lock` reports it as stale after `LOCK_LEASE`; `force_unlock` removes it."""
        return self._lock_object().info

    def force_unlock(self, lock_id: str) -> None:
        """Delete the lock object, only if it still holds `lock_id` (checked, then deleted
        conditionally on the ETag of what was checked)."""
        source, lock_uri = self.describe(), f"s3://{self.bucket}/{self.lock_key}"
        current = self._lock_object()
        if not current.exists:
            raise StateError(f"state {source} has no lock holder recorded; nothing to unlock.")
        if current.info is None:
            raise StateError(
                f"state {source}: its lock object {lock_uri} holds no holder record this "
                f"reconcile can read; nothing was changed. Look at it, and delete it by hand "
                f"(`aws s3 rm {lock_uri}`) if no run is using the state."
            )
        if current.info.lock_id != lock_id:
            raise StateError(
                f"state {source} is locked with lock ID {current.info.lock_id}, not {lock_id}; "
                f"nothing was changed. The holder is {current.info.describe()}."
            )
        problem = self._delete_lock(current)
        if problem:
            raise StateError(
                f"state {source}: the lock {lock_id} could not be removed ({problem})."
            )

    # -- errors --------------------------------------------------------------------------

    def _failed(self, exc: AwsCallError, consequence: str) -> StateError:
        """One paragraph naming the location, the call and what to check."""
        hint = None
        if exc.code == "NoSuchBucket":
            hint = f"Create the bucket {self.bucket}, or fix --state / RECONCILE_STATE."
        elif exc.code in _DENIED:
            hint = (
                "The credentials in use need s3:GetObject, s3:PutObject and s3:DeleteObject on "
                f"{self.key}, {self.lock_key} and {self.key}.backup.*, and "
                "s3:GetBucketVersioning on the bucket."
            )
        return StateError(
            f"state {self.describe()} {consequence}: {str(exc).rstrip('.')}.", hint=hint
        )


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"
