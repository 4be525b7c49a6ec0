"""What changed in the manifests since a plan was saved (apply --plan says so, and refuses
with --refuse-if-changed): entries added or removed, and each field that differs."""

from __future__ import annotations

from reconciler.manifest.load import load_manifests
from reconciler.plan.facts import field_changes, spec_document
from reconciler.plan.saved import SavedPlan

SHOWN = 10  # changes listed; the rest are counted


def manifest_changes(saved: SavedPlan) -> list[str]:
    """One line per difference between the plan's entries and the manifests now."""
    if not saved.scope:
        return ["the plan names no manifest paths, so the manifests cannot be compared"]
    loaded = load_manifests(saved.scope)
    files = {(f.path, f.sha256) for f in loaded.files}
    if files == {(m.path, m.sha256) for m in saved.plan.basis.manifests}:
        return []  # the same bytes: nothing to compare
    if loaded.problems:
        return [f"the manifests no longer validate ({len(loaded.problems)} problem(s))"]
    before = {spec.name: spec for spec in saved.specs}
    owned = saved.shard.owns if saved.shard else (lambda account: True)
    after = {spec.name: spec for spec in loaded.imports if owned(spec.account)}
    lines = [f"{name}: added" for name in sorted(after.keys() - before.keys())]
    lines += [f"{name}: removed" for name in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        for change in field_changes(spec_document(before[name]), spec_document(after[name])):
            lines.append(f"{name}: {change.field} {change.before!r} -> {change.after!r}")
    if len(lines) > SHOWN:
        lines = [*lines[:SHOWN], f"and {len(lines) - SHOWN} more"]
    return lines
