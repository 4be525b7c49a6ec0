"""The desired import after loading: one flat, frozen record per manifest entry.

Manifests come in two shapes (friendly and the API's own) with per-file defaults; the rest of
the program never sees either, only `ImportSpec`. Its `identity` is pinned in DESIGN.md:
(destination ARN, S3 URI exactly as written, start, end), times in UTC. Everything else is an
attribute, which may change without replacing the import.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from reconciler.fields import arn_parts, format_time


@dataclass(frozen=True, order=True)
class Identity:
    destination: str
    source_uri: str
    start: datetime | None
    end: datetime | None

    def describe(self) -> str:
        start = format_time(self.start) if self.start else "(open)"
        end = format_time(self.end) if self.end else "(open)"
        return f"{self.source_uri} [{start} .. {end}] -> {self.destination}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3  # every StartImport of the entry counts, the first included
    stopped: bool = False  # whether STOPPED imports are retried too


@dataclass(frozen=True)
class SourceLocation:
    """Where the entry was written, for messages and for plan ordering."""

    file: str
    index: int  # position in the file's `imports` list
    line: int = 0
    column: int = 0

    def describe(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True)
class ImportSpec:
    name: str
    destination: str
    source_uri: str
    bucket_region: str
    role_arn: str
    start: datetime | None
    end: datetime | None
    retry: RetryPolicy
    location: SourceLocation
    import_id: str | None = None  # explicit adoption of an existing import
    allow_overlap: bool = False

    @property
    def identity(self) -> Identity:
        return Identity(self.destination, self.source_uri, self.start, self.end)

    @property
    def account(self) -> str:
        return arn_parts(self.destination)[0]

    @property
    def region(self) -> str:
        return arn_parts(self.destination)[1]


def spec_document(spec: ImportSpec) -> dict[str, object]:
    """The spec as plain data: what state records and what a change is computed on."""
    return {
        "identity": {
            "destination": spec.destination,
            "source_uri": spec.source_uri,
            "start": format_time(spec.start) if spec.start else None,
            "end": format_time(spec.end) if spec.end else None,
        },
        "attributes": attributes_document(spec),
    }


def attributes_document(spec: ImportSpec) -> dict[str, object]:
    return {
        "bucket_region": spec.bucket_region,
        "role_arn": spec.role_arn,
        "retry": {"max_attempts": spec.retry.max_attempts, "stopped": spec.retry.stopped},
    }


def spec_hash(spec: ImportSpec) -> str:
    """A stable fingerprint of identity and attributes (not of name or file position)."""
    text = json.dumps(spec_document(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
