"""Saved plans (`plan --out FILE`, `apply --plan FILE`, `show FILE`).

A plan file is the plan JSON document plus the full desired specs of its entries and the
options it was made with, so apply can carry it out without the manifests. Reading one refuses
it unless it is what `plan --out` wrote: its fields are checked in `planfile_checks`, and here
that specs and actions agree, so the plan executes what it shows.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcileError
from reconciler.exportspec import ExportSpec
from reconciler.fields import arn_parts
from reconciler.plan import saved_checks as checks
from reconciler.plan.desired import DEFAULT_QUEUE_SCOPE, Shard
from reconciler.plan.exports import ExportObservation
from reconciler.plan.saved_checks import IDENTITY_KEYS, NEEDS_SPEC, Refused, refused, shown
from reconciler.plan.types import PLAN_FORMAT_VERSION, Action, ActionKind, Plan
from reconciler.spec import (
    AccountAccess,
    ImportSpec,
    spec_document,
    spec_from_json,
    spec_to_json,
)

AGAIN = "make the plan again (reconcile plan --out FILE)"
# Checked field by field on reading; writing thousands of them again would cost a second.
KEPT_AS_READ = ("actions", "unmanaged")


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    specs: tuple[ImportSpec, ...]
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    retry: tuple[str, ...] = ()  # --retry: the person says the cause of failure is fixed
    queue_scope: str = DEFAULT_QUEUE_SCOPE
    scope: tuple[str, ...] = ()
    accounts: Mapping[str, AccountAccess] = field(default_factory=dict)
    shard: Shard | None = None
    # The manifests' exports and what was seen of their tasks, for apply (never saved: a saved
    # plan holds only the imports).
    export_specs: tuple[ExportSpec, ...] = ()
    export_observation: ExportObservation | None = None


def plan_file_document(saved: SavedPlan) -> dict[str, Any]:
    return {
        **saved.plan.to_json(),
        "specs": [spec_to_json(spec) for spec in saved.specs],
        "options": {
            "targets": list(saved.targets),
            "replace": list(saved.replace),
            "retry": list(saved.retry),
            "queue_scope": saved.queue_scope,
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
    """The saved plan, refused unless it is exactly what `plan --out` wrote (DESIGN.md, "Apply
    safety"): `show` and `apply --plan` both read it here, so what is shown is what runs."""
    document = _document(path)
    try:
        checks.check_document(document)
        saved = _saved_plan(path, document)
        check_agreement(saved)
        _check_overlaps(saved.specs)
        _check_rewritten(document, saved)
    except Refused as exc:
        raise ReconcileError(f"plan file {path} {exc}. Nothing in it was used; {AGAIN}.") from None
    except RecursionError:  # values nested deeper than any plan writes them
        raise ReconcileError(f"plan file {path} is damaged (nested too deeply); {AGAIN}.") from None
    return saved


def _document(path: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReconcileError(f"plan file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ReconcileError(f"plan file {path} is not readable JSON: {exc}.") from None
    if not isinstance(document, dict) or "basis" not in document or "actions" not in document:
        raise ReconcileError(f"{path} is not a plan file written by `reconcile plan --out`.")
    version = document.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise ReconcileError(
            f"plan file {path} has format_version {version!r}; this reconcile reads "
            f"{PLAN_FORMAT_VERSION}. Make the plan again with this version."
        )
    return document


def _saved_plan(path: str, document: dict[str, Any]) -> SavedPlan:
    """Built from a checked document; whatever the checks missed still gives a sentence."""
    options = document.get("options", {})
    try:
        return SavedPlan(
            plan=Plan.from_json(document),
            specs=tuple(spec_from_json(item) for item in document.get("specs", [])),
            targets=tuple(options.get("targets", [])),
            replace=tuple(options.get("replace", [])),
            retry=tuple(options.get("retry", [])),
            queue_scope=options.get("queue_scope", DEFAULT_QUEUE_SCOPE),
            scope=tuple(options.get("scope", [])),
            accounts={a["account"]: AccountAccess(**a) for a in options.get("accounts") or []},
            shard=Shard(*options["shard"]) if options.get("shard") else None,
        )
    except Exception as exc:  # any shape Plan.from_json does not expect: never a traceback
        raise ReconcileError(
            f"plan file {path} is damaged ({type(exc).__name__}: {exc}); {AGAIN}."
        ) from None


# -- specs and actions agree ------------------------------------------------------------------


def check_agreement(saved: SavedPlan) -> None:
    """The plan executes what it shows: no spec without its action, no action without what
    it needs, and each action showing exactly what its spec would do."""
    specs, plan, targets = saved.specs, saved.plan, saved.targets
    by_name = {spec.name: (index, spec) for index, spec in enumerate(specs)}
    listed = {action.name for action in plan.actions}
    for index, spec in enumerate(specs):
        # With --target, `plan --out` keeps every desired entry; only the targets have actions.
        if spec.name not in listed and (not targets or spec.name in targets):
            raise Refused(
                f"was edited: specs[{index}] ({shown(spec.name)}) has no action in the plan, "
                "so show would not list it but apply would act on it"
            )
    for option, names in (("targets", targets), ("replace", saved.replace), ("retry", saved.retry)):
        for name in names:
            if name not in by_name:
                raise refused("its options", option, f"{shown(name)} is not a spec in the plan")
    for index, action in enumerate(plan.actions):
        where = f"actions[{index}] ({shown(action.name)}, {action.action.value})"
        if targets and action.name not in targets:  # --target plans (and forgets) nothing else
            raise refused(where, "name", "is not among the plan's targets")
        _check_previous_name(where, action, by_name)
        _check_action_spec(where, action, by_name.get(action.name))
    _check_order(specs, plan)
    if saved.shard is not None:
        _check_shard(specs, plan, saved.shard)


def _check_previous_name(where: str, action: Action, names: Mapping[str, object]) -> None:
    """A rename moves the state record of its previous name: never that of a desired entry
    (its import would look lost and be started again), and only on a rename."""
    renaming = action.action is ActionKind.RENAME
    if renaming != (action.previous_name is not None):
        says = "a rename needs" if renaming else "only a rename has"
        raise refused(where, "previous_name", f"{says} the name it had")
    if action.previous_name in names:
        raise refused(
            where, "previous_name", f"{shown(action.previous_name)} is an entry of the plan"
        )


def _check_action_spec(where: str, action: Action, found: tuple[int, ImportSpec] | None) -> None:
    if found is None:
        if action.action in NEEDS_SPEC:
            raise refused(where, "name", "no spec in the plan has this name, so apply cannot do it")
        return
    if action.action is ActionKind.FORGET:  # the planner forgets only entries no spec names
        raise refused(where, "action", "a spec in the plan has this name, so it is not forgotten")
    spec_index, spec = found
    displayed, computed = _shown_and_computed(action, spec)
    edited = _difference(displayed, computed, "", partial=False)
    if edited is not None:
        raise Refused(
            f"was edited: action {shown(action.name)} shows {edited} "
            f"{shown(_value_at(displayed, edited))} but its spec (specs[{spec_index}]) says "
            f"{shown(_value_at(computed, edited))}"
        )


def _shown_and_computed(action: Action, spec: ImportSpec) -> tuple[dict[str, Any], ...]:
    """What the action shows, and what its spec computes, in the same shape."""
    account, region = arn_parts(spec.destination)
    displayed = {
        "identity": {key: getattr(action.identity, key) for key in IDENTITY_KEYS},
        "attributes": action.attributes,
        "destination": action.destination,
        "account": action.account,
        "region": action.region,
        "manifest": action.manifest,
    }
    computed = {
        **spec_document(spec),
        "destination": spec.destination,
        "account": account,
        "region": region,
        "manifest": spec.location.describe(),
    }
    return displayed, computed


def _value_at(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return "(nothing)"
        value = value[key]
    return value


def _check_order(specs: Sequence[ImportSpec], plan: Plan) -> None:
    """Queued imports start later in the order shown; apply orders by the specs' locations."""
    named = {spec.name: spec for spec in specs}
    order = [action.name for action in plan.actions if action.name in named]
    ordered = sorted(
        (named[name] for name in order), key=lambda s: (s.location.file, s.location.index)
    )
    for position, (name, spec) in enumerate(zip(order, ordered, strict=True)):
        if name != spec.name:
            raise Refused(
                f"was edited: action {shown(name)} is shown at position {position + 1} of the "
                f"entries, but the specs' locations put {shown(spec.name)} there, so apply would "
                "start them in another order than shown"
            )


def _check_shard(specs: Sequence[ImportSpec], plan: Plan, shard: Shard) -> None:
    """With --shard, a plan has only the entries and records of its shard's accounts."""
    owners = [(f"specs[{i}]", s.name, s.account) for i, s in enumerate(specs)]
    owners += [(f"actions[{i}]", a.name, a.account) for i, a in enumerate(plan.actions)]
    for where, name, account in owners:
        if not shard.owns(account):
            raise refused(
                f"{where} ({shown(name)})",
                "identity.destination",
                f"account {account} is not in shard {shard.index}/{shard.count}",
            )


# -- the last net ---------------------------------------------------------------------------


def _check_rewritten(document: Mapping[str, Any], saved: SavedPlan) -> None:
    """What was read, written again, must be what the file says: an unknown key or a value
    spelled another way (an edited summary, say) would be dropped or changed unseen."""
    bare = replace(saved, plan=replace(saved.plan, actions=(), unmanaged=()))
    rewritten = {**plan_file_document(bare), "summary": saved.plan.to_json()["summary"]}
    # Actions and unmanaged imports are left out of the comparison, but known to it.
    written = {key: value for key, value in document.items() if key not in KEPT_AS_READ}
    found = _difference(written, json.loads(json.dumps(rewritten)), "")
    if found is not None:
        raise Refused(
            f"is refused: {found or 'the document'} is not as `reconcile plan --out` writes it "
            "(an unknown key, or a value written another way)"
        )


def _difference(written: Any, rewritten: Any, path: str, *, partial: bool = True) -> str | None:
    """The first path where the two differ (true is not 1); with `partial`, keys `written`
    lacks are fine (a reader fills them with their defaults)."""
    if isinstance(written, dict) and isinstance(rewritten, dict):
        for key in written if partial else {**rewritten, **written}:
            inner = f"{path}.{key}" if path else str(key)
            if key not in rewritten or key not in written:
                return inner
            found = _difference(written[key], rewritten[key], inner, partial=partial)
            if found is not None:
                return found
        return None
    if isinstance(written, list) and isinstance(rewritten, list) and len(written) == len(rewritten):
        for index, (item, again) in enumerate(zip(written, rewritten, strict=True)):
            found = _difference(item, again, f"{path}[{index}]", partial=partial)
            if found is not None:
                return found
        return None
    same = type(written) is type(rewritten) and written == rewritten  # true is not 1
    return None if same else path


def _check_overlaps(specs: Sequence[ImportSpec]) -> None:
    """Ranges that would store events twice, refused as the manifests refuse them."""
    if len(specs) < 2:
        return
    # Imported here: only a plan with entries to compare needs it, and it brings the YAML reader.
    from reconciler.manifest.checks import overlapping_ranges

    by_place = {(spec.location.file, spec.location.index): i for i, spec in enumerate(specs)}
    for problem in overlapping_ranges(specs, {}):
        # The problem names the later entry as "imports[INDEX].FIELD" of its file.
        index = by_place[(problem.file, int(problem.field.split("]")[0].split("[")[1]))]
        where = f"specs[{index}] (name {shown(specs[index].name)})"
        raise refused(where, "identity.start", problem.message)
