"""The desired import after loading: one flat, frozen record per manifest entry.

Manifests come in two shapes (friendly and the API's own) with per-file defaults; the rest of
the program never sees either, only `ImportSpec`. Its `identity` is pinned in DESIGN.md:
(destination ARN, S3 URI exactly as written, start, end), times in UTC. Everything else is an
attribute, which may change without replacing the import.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from reconciler.fields import arn_parts, format_time, parse_time


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
class PreflightPolicy:
    """An entry's `preflight:` settings: error codes that do not make it `attention`, and a
    price per GB that wins over the run's."""

    ignore: frozenset[str] = frozenset()
    price_per_gb: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"ignore": sorted(self.ignore), "price_per_gb": self.price_per_gb}


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
class AccountAccess:
    """How to reach one account (manifest `accounts:`): a role to assume, or a profile."""

    account: str
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    profile: str | None = None
    queue_scope: str | None = None  # "account" | "region"; None: the run's --queue-scope
    location: str = ""  # "file:line:column", for messages

    def settings(self) -> tuple[str | None, ...]:
        """What must agree when two files describe the same account."""
        return (self.role_arn, self.external_id, self.session_name, self.profile, self.queue_scope)

    def describe(self) -> str:
        if self.role_arn:
            return f"role {self.role_arn}"
        return f"profile {self.profile}" if self.profile else "the run's own credentials"

    def to_json(self) -> dict[str, str | None]:
        return {
            "account": self.account,
            "role_arn": self.role_arn,
            "external_id": self.external_id,
            "session_name": self.session_name,
            "profile": self.profile,
            "queue_scope": self.queue_scope,
            "location": self.location,
        }


@dataclass(frozen=True)
class ImportSpec:
    section: ClassVar[str] = "imports"  # the manifest list it comes from

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
    preflight: PreflightPolicy = PreflightPolicy()
    # Computed once: every plan keys its entries by identity, and apply plans before each start.
    identity: Identity = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identity = Identity(self.destination, self.source_uri, self.start, self.end)
        object.__setattr__(self, "identity", identity)  # frozen: set once, here

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


def spec_to_json(spec: ImportSpec) -> dict[str, object]:
    """Everything needed to apply the entry later from a saved plan, without the manifests."""
    return {
        "name": spec.name,
        **spec_document(spec),
        "import_id": spec.import_id,
        "allow_overlap": spec.allow_overlap,
        "preflight": spec.preflight.to_json(),
        "location": {
            "file": spec.location.file,
            "index": spec.location.index,
            "line": spec.location.line,
            "column": spec.location.column,
        },
    }


def spec_from_json(data: Any) -> ImportSpec:
    """The inverse of `spec_to_json`; raises KeyError/TypeError/ValueError on bad input."""
    identity = data["identity"]
    attributes = data["attributes"]
    location = data["location"]
    return ImportSpec(
        name=str(data["name"]),
        destination=str(identity["destination"]),
        source_uri=str(identity["source_uri"]),
        bucket_region=str(attributes["bucket_region"]),
        role_arn=str(attributes["role_arn"]),
        start=_time_or_none(identity["start"]),
        end=_time_or_none(identity["end"]),
        retry=RetryPolicy(
            max_attempts=int(attributes["retry"]["max_attempts"]),
            stopped=bool(attributes["retry"]["stopped"]),
        ),
        location=SourceLocation(
            file=str(location["file"]),
            index=int(location["index"]),
            line=int(location["line"]),
            column=int(location["column"]),
        ),
        import_id=data.get("import_id"),
        allow_overlap=bool(data.get("allow_overlap", False)),
        preflight=_preflight(data.get("preflight")),
    )


def _preflight(data: Any) -> PreflightPolicy:
    if not data:
        return PreflightPolicy()
    price = data.get("price_per_gb")
    return PreflightPolicy(
        ignore=frozenset(str(code) for code in data.get("ignore", [])),
        price_per_gb=None if price is None else float(price),
    )


def _time_or_none(value: Any) -> datetime | None:
    if value is None:
        return None
    return parse_time(str(value))
