"""Saved plans (`plan --out FILE`, `apply --plan FILE`, `show FILE`).

A plan file is the plan JSON document plus the full desired specs of its entries and the
options it was made with, so apply can carry it out without the manifests.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.desired import Shard
from reconciler.errors import ReconcileError
from reconciler.plan import PLAN_FORMAT_VERSION, Plan
from reconciler.spec import AccountAccess, ImportSpec, spec_from_json, spec_to_json


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    specs: tuple[ImportSpec, ...]
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    accounts: Mapping[str, AccountAccess] = field(default_factory=dict)
    shard: Shard | None = None


def plan_file_document(saved: SavedPlan) -> dict[str, Any]:
    return {
        **saved.plan.to_json(),
        "specs": [spec_to_json(spec) for spec in saved.specs],
        "options": {
            "targets": list(saved.targets),
            "replace": list(saved.replace),
            "scope": list(saved.scope),
            "shard": [saved.shard.index, saved.shard.count] if saved.shard else None,
            "accounts": [access.to_json() for access in saved.accounts.values()],
        },
    }


def write_plan_file(path: str, saved: SavedPlan) -> None:
    """Atomic: a crash leaves the old file or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(plan_file_document(saved), indent=2) + "\n"
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_plan_file(path: str) -> SavedPlan:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReconcileError(f"plan file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcileError(f"plan file {path} is not readable JSON: {exc}.") from None
    if not isinstance(document, dict) or "basis" not in document or "actions" not in document:
        raise ReconcileError(f"{path} is not a plan file written by `reconcile plan --out`.")
    version = document.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise ReconcileError(
            f"plan file {path} has format_version {version!r}; this reconcile reads "
            f"{PLAN_FORMAT_VERSION}. Make the plan again with this version."
        )
    options = document.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(document.get(key, []), list) for key in ("actions", "specs", "unmanaged")
    ):
        raise ReconcileError(f"plan file {path} is damaged (unexpected structure); make it again.")
    try:
        return SavedPlan(
            plan=Plan.from_json(document),
            specs=tuple(spec_from_json(item) for item in document.get("specs", [])),
            targets=tuple(options.get("targets", [])),
            replace=tuple(options.get("replace", [])),
            scope=tuple(options.get("scope", [])),
            accounts={a["account"]: AccountAccess(**a) for a in options.get("accounts") or []},
            shard=Shard(*options["shard"]) if options.get("shard") else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReconcileError(
            f"plan file {path} is damaged ({type(exc).__name__}: {exc}); make the plan again."
        ) from None
