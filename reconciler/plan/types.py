"""The Plan: immutable, serialisable data that the planner returns and renderers walk.

The printed plan and the applied plan are the same object (DESIGN.md, "Flow"). Its JSON form is
pinned (DESIGN.md, "Plan JSON"): top-level `format_version`, `basis`, `summary`, `actions`,
`unmanaged`; each action `name`, `action`, `reason`, `account`, `region`, `destination`,
`import_id`, `identity`, `attributes`, `changes`, `progress`, `queue_position`, `blocked_by`,
`failures`, `findings` (plus `manifest`, where the entry is written, `outcome` once applied,
and `kind`: `import`, or `export` for a CloudWatch Logs import task, whose `identity` is its
source store and eventTime range).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

from reconciler.exportspec import log_group_arn
from reconciler.findings import NO_ESTIMATE, Estimate, Finding, Severity
from reconciler.observed import Failure

__all__ = ["NO_ESTIMATE", "Estimate", "Finding", "Severity"]  # their home is reconciler.findings

PLAN_FORMAT_VERSION = 1


class ActionKind(StrEnum):
    """Pinned action names, in the order summaries list them."""

    CREATE = "create"
    ADOPT = "adopt"
    RENAME = "rename"
    RETRY = "retry"
    REPLACE = "replace"
    FORGET = "forget"
    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    NOOP = "noop"
    ATTENTION = "attention"


# Kinds that change something when applied (plan --detailed-exitcode: 2).
CHANGING = frozenset(
    {
        ActionKind.CREATE,
        ActionKind.ADOPT,
        ActionKind.RENAME,
        ActionKind.RETRY,
        ActionKind.REPLACE,
        ActionKind.FORGET,
        ActionKind.QUEUED,
        ActionKind.PENDING,
    }
)
# Kinds that start an import (StartImport) when applied.
STARTING = frozenset({ActionKind.CREATE, ActionKind.RETRY, ActionKind.REPLACE})
# Kinds a shown plan promises may start during apply (now, or later in the same run).
SHOWN_STARTING = frozenset({*STARTING, ActionKind.QUEUED, ActionKind.PENDING})

# How the summary line words each kind: "Plan: 2 to create, 4 unchanged, 1 running".
SUMMARY_WORDS = {
    ActionKind.CREATE: "to create",
    ActionKind.ADOPT: "to adopt",
    ActionKind.RENAME: "to rename",
    ActionKind.RETRY: "to retry",
    ActionKind.REPLACE: "to replace",
    ActionKind.FORGET: "to forget",
    ActionKind.QUEUED: "queued",
    ActionKind.PENDING: "pending",
    ActionKind.RUNNING: "running",
    ActionKind.NOOP: "unchanged",
    ActionKind.ATTENTION: "need attention",
}


@dataclass(frozen=True)
class IdentityView:
    """An import's identity as plan data: times as `YYYY-MM-DDTHH:MM:SSZ` text or None."""

    destination: str
    source_uri: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class ExportIdentityView:
    """An export's identity as plan data: the store it copies from and the eventTime range
    (`YYYY-MM-DDTHH:MM:SS[.mmm]Z` text or None). `destination` and `source_uri` let renderers
    show it as they show an import's: the log group AWS names, and the store."""

    source: str
    start: str | None
    end: str | None

    @property
    def destination(self) -> str:
        return log_group_arn(self.source)  # the one naming rule (exportspec.py)

    @property
    def source_uri(self) -> str:
        return self.source


@dataclass(frozen=True)
class Change:
    """One field whose recorded value differs from the manifest (before -> after)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Progress:
    status: str
    prefixes_found: int | None = None
    prefixes_completed: int | None = None
    files_completed: int | None = None
    events_completed: int | None = None
    failed_entries: int | None = None
    updated: str | None = None  # AWS's UpdatedTimestamp, YYYY-MM-DDTHH:MM:SSZ


@dataclass(frozen=True)
class Action:
    name: str
    action: ActionKind
    reason: str
    account: str
    region: str
    destination: str
    import_id: str | None
    identity: IdentityView | ExportIdentityView
    attributes: dict[str, Any] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    progress: Progress | None = None
    queue_position: int | None = None
    blocked_by: str | None = None
    failures: tuple[Failure, ...] = ()
    findings: tuple[Finding, ...] = ()
    estimate: Estimate | None = None  # starting actions, once preflight has listed the source
    not_before: str | None = None  # a FAILED/STOPPED import's retry waits until then (backoff)
    manifest: str | None = None  # "file:line:column" of the entry, when it is in a manifest
    previous_name: str | None = None  # for rename: the name in state before
    outcome: str | None = None  # set by apply
    kind: str = "import"  # or "export": a CloudWatch Logs import task from a store


@dataclass(frozen=True)
class UnmanagedImport:
    """An import in AWS that no manifest in scope manages; listed for information."""

    import_id: str
    status: str
    account: str
    region: str
    destination: str | None
    created: str | None


@dataclass(frozen=True)
class ManifestHash:
    path: str
    sha256: str


@dataclass(frozen=True)
class Basis:
    """What the plan was computed from; a saved plan is stale when this changed."""

    state_lineage: str | None
    state_serial: int
    observed_fingerprint: str
    observed_import_ids: tuple[str, ...]
    manifests: tuple[ManifestHash, ...]


@dataclass(frozen=True)
class Plan:
    basis: Basis
    actions: tuple[Action, ...]
    unmanaged: tuple[UnmanagedImport, ...] = ()
    created_at: str | None = None
    # The total of what this run would start (preflight); None when preflight did not run.
    estimate: Estimate | None = None

    def summary(self) -> dict[str, int]:
        """Count per action kind, every kind listed, in the pinned order."""
        counts = {kind.value: 0 for kind in ActionKind}
        for action in self.actions:
            counts[action.action.value] += 1
        return counts

    def of_kind(self, *kinds: ActionKind) -> list[Action]:
        return [action for action in self.actions if action.action in kinds]

    @property
    def has_changes(self) -> bool:
        return any(action.action in CHANGING for action in self.actions)

    @property
    def needs_attention(self) -> bool:
        return any(action.action is ActionKind.ATTENTION for action in self.actions)

    def summary_line(self) -> str:
        counts = self.summary()
        parts = [
            f"{counts[kind.value]:,} {_word(kind, counts[kind.value])}"
            for kind in ActionKind
            if counts[kind.value]
        ]
        return "Plan: " + (", ".join(parts) if parts else "nothing to do") + "."

    def to_json(self) -> dict[str, Any]:
        """The pinned JSON document (stable key order; every value JSON-native)."""
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "created_at": self.created_at,
            "basis": _plain(self.basis),
            "summary": {
                **self.summary(),
                "estimate": _plain(self.estimate) if self.estimate else None,
            },
            "actions": [_action_json(action) for action in self.actions],
            "unmanaged": [_plain(item) for item in self.unmanaged],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Plan:
        basis = dict(document["basis"])
        basis["manifests"] = tuple(ManifestHash(**m) for m in basis["manifests"])
        basis["observed_import_ids"] = tuple(basis["observed_import_ids"])
        return cls(
            basis=Basis(**basis),
            actions=tuple(_action_from_json(a) for a in document["actions"]),
            unmanaged=tuple(UnmanagedImport(**u) for u in document["unmanaged"]),
            created_at=document.get("created_at"),
            estimate=_estimate(document.get("summary", {}).get("estimate")),
        )


def _word(kind: ActionKind, count: int) -> str:
    if kind is ActionKind.ATTENTION and count == 1:
        return "needs attention"
    return SUMMARY_WORDS[kind]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """`asdict(value)` with tuples as lists (JSON documents and their schema want lists), in
    one pass and without asdict's deep copies (most of the time of `plan --json` at 10,000
    actions): dataclasses become dicts in field order; strings, numbers and enums are shared."""
    names = _FIELD_NAMES.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.setdefault(type(value), tuple(f.name for f in fields(value)))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _action_json(action: Action) -> dict[str, Any]:
    data: dict[str, Any] = _plain(action)
    data["action"] = action.action.value
    return data


def _estimate(data: dict[str, Any] | None) -> Estimate | None:
    return Estimate(**data) if data else None


def _action_from_json(data: dict[str, Any]) -> Action:
    values = dict(data)
    values["action"] = ActionKind(values["action"])
    exported = values.get("kind", "import") == "export"
    values["identity"] = (ExportIdentityView if exported else IdentityView)(**values["identity"])
    values["changes"] = tuple(Change(**c) for c in values.get("changes", ()))
    values["failures"] = tuple(Failure(**f) for f in values.get("failures", ()))
    values["findings"] = tuple(
        Finding(**{**f, "severity": Severity(f["severity"])}) for f in values.get("findings", ())
    )
    values["estimate"] = _estimate(values.get("estimate"))
    progress = values.get("progress")
    values["progress"] = Progress(**progress) if progress else None
    return Action(**values)
