"""Terraform-like text for people at a terminal.

Layout (golden-tested in tests/golden/plan.txt):
- one block per action in plan order (the order apply takes them; queues follow it), headed
  `SYMBOL KIND NAME`, then the reason, then `label  value` lines: manifest, import id,
  destination, source, range, queue, progress, changes, failures;
- plain noops (no attribute changes) after the blocks, one line each, or a single
  "N unchanged imports" line when there are more than NOOP_LIST_LIMIT of them;
- unmanaged imports, for information; then `plan.summary_line()`.
Colour is plain ANSI and only when asked for: the CLI decides (terminal, NO_COLOR, --color).
"""

from __future__ import annotations

import textwrap

from reconciler.findings import Severity
from reconciler.plan.types import Action, ActionKind, Plan, UnmanagedImport
from reconciler.preflight.online import OnlineCheck
from reconciler.render.common import (
    FAILURES_SHOWN,
    NOOP_LIST_LIMIT,
    SYMBOLS,
    clean,
    estimate_text,
    failure_text,
    finding_parts,
    is_plain_noop,
    plural,
    progress_text,
    queue_text,
    range_text,
    start_fields,
    symbol,
    title,
    value_text,
)

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
MAGENTA = "\x1b[35m"
CYAN = "\x1b[36m"

COLOURS: dict[ActionKind, str] = {
    ActionKind.CREATE: GREEN,
    ActionKind.ADOPT: MAGENTA,  # state-only changes
    ActionKind.RENAME: MAGENTA,
    ActionKind.RETRY: YELLOW,
    ActionKind.REPLACE: RED,
    ActionKind.FORGET: RED,
    ActionKind.QUEUED: YELLOW,
    ActionKind.PENDING: YELLOW,
    ActionKind.RUNNING: CYAN,
    ActionKind.NOOP: DIM,
    ActionKind.ATTENTION: RED + BOLD,
}

INDENT = "      "  # body lines align with the kind word of the header
LABEL_WIDTH = 13


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"{style}{text}{RESET}" if self.color and style else text


def render_text(plan: Plan, *, color: bool = False, width: int = 100) -> str:
    paint = _Painter(color)
    blocks: list[str] = []
    plain_noops: list[Action] = []
    for action in plan.actions:
        if is_plain_noop(action):
            plain_noops.append(action)
        else:
            blocks.append(_block(action, paint, width))
    if plain_noops:
        blocks.append(_noops(plain_noops, paint))
    if plan.unmanaged:
        blocks.append(_unmanaged(plan.unmanaged))
    if not plan.actions:
        blocks.append("No imports in scope.")
    summary = paint(plan.summary_line(), BOLD)
    if plan.estimate is not None:  # above the summary, which stays the last line
        summary = f"Estimate: {estimate_text(plan.estimate)}.\n{summary}"
    blocks.append(summary)
    return "\n\n".join(blocks)


def _header(action: Action, paint: _Painter) -> str:
    style = COLOURS[action.action]
    if action.action is ActionKind.NOOP and action.changes:
        style = YELLOW  # attributes to record: an in-place update, like terraform's `~`
    return _line(symbol(action), action.action.value, style, paint) + paint(title(action), BOLD)


def _line(sign: str, kind: str, style: str, paint: _Painter) -> str:
    """`  SIGN KIND  ` with SIGN right-aligned and KIND padded, so names line up."""
    return f"  {' ' * (3 - len(sign))}{paint(f'{sign} {kind}', style)}{' ' * (10 - len(kind))}"


def _field(label: str, value: str) -> str:
    return f"{INDENT}{label:<{LABEL_WIDTH}}{value}"


def _block(action: Action, paint: _Painter, width: int) -> str:
    lines = [_header(action, paint)]
    if action.reason:
        lines += textwrap.wrap(
            clean(action.reason),
            width=max(width - len(INDENT), 20),
            initial_indent=INDENT,
            subsequent_indent=INDENT,
            break_long_words=False,
            break_on_hyphens=False,
        )
    if action.manifest:
        lines.append(_field("manifest", clean(action.manifest)))
    if action.import_id:
        lines.append(_field("import id", clean(action.import_id)))
    identity = action.identity
    lines.append(_field("destination", clean(identity.destination)))
    lines.append(_field("source", clean(identity.source_uri)))
    lines.append(_field("range", range_text(identity)))
    for label, value in start_fields(action):
        lines.append(_field(label, clean(value)))
    queue = queue_text(action)
    if queue:
        lines.append(_field("queue", queue))
    if action.progress:
        lines.append(_field("progress", progress_text(action.progress)))
    if action.estimate is not None:
        lines.append(_field("estimate", estimate_text(action.estimate)))
    if action.outcome:
        lines.append(_field("outcome", clean(action.outcome)))
    if action.changes:
        lines.append(_field("changes", ""))
        for change in action.changes:
            before, after = value_text(change.before), value_text(change.after)
            lines.append(f"{INDENT}  {clean(change.field)}: {before} -> {after}")
    if action.findings:
        lines.append(_field("findings", ""))
        for finding in action.findings:
            head, fix, suggested = finding_parts(finding)
            lines += _wrapped(head, width, INDENT + "  ", INDENT + "    ")
            lines += _wrapped(f"fix: {fix}", width, INDENT + "    ", INDENT + "      ")
            lines += [f"{INDENT}      {line}" for line in suggested]
    if action.failures:
        lines.append(_field("failures", ""))
        for failure in action.failures[:FAILURES_SHOWN]:
            lines.append(f"{INDENT}  {failure_text(failure)}")
        hidden = len(action.failures) - FAILURES_SHOWN
        if hidden > 0:
            lines.append(f"{INDENT}  and {hidden:,} more")
    return "\n".join(line.rstrip() for line in lines)


def _wrapped(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width - len(rest), 20),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _noops(noops: list[Action], paint: _Painter) -> str:
    head = _line(SYMBOLS[ActionKind.NOOP], "noop", COLOURS[ActionKind.NOOP], paint)
    if len(noops) > NOOP_LIST_LIMIT:
        count = plural(len(noops), "unchanged import", "unchanged imports")
        return f"{head}{count} (listed in the --json output)"
    return "\n".join(
        f"{head}{title(a)}" + (f": {clean(a.reason)}" if a.reason else "") for a in noops
    )


def _unmanaged(items: tuple[UnmanagedImport, ...]) -> str:
    lines = ["Unmanaged imports (for information; no manifest in scope names them):"]
    for item in items:
        place = clean(f"{item.account}/{item.region}")
        parts = [clean(item.import_id), f"{clean(item.status):<12}{place}"]
        if item.destination:
            parts.append(clean(item.destination))
        if item.created:
            parts.append(f"created {clean(item.created)}")
        lines.append("  " + "  ".join(parts))
    return "\n".join(lines)


def render_online(check: OnlineCheck) -> str:
    """`validate --online`: each entry's estimate and findings, then the counts and total."""
    lines = []
    for spec in check.specs:
        found = check.evidence[spec.name]
        cost = estimate_text(found.estimate) if found.estimate else "not estimated"
        lines.append(f"{clean(spec.name)} ({clean(spec.location.describe())}): {cost}")
        for finding in found.findings:
            head, fix, suggested = finding_parts(finding)
            lines.append(f"  {head}")
            lines.append(f"    fix: {fix}")
            lines += [f"      {line}" for line in suggested]
    errors, warnings = check.errors, check.count(Severity.WARNING)
    lines.append(
        f"Preflight: {plural(errors, 'error', 'errors')}, "
        f"{plural(warnings, 'warning', 'warnings')}; all entries together: "
        f"{estimate_text(check.total)}."
    )
    return "\n".join(lines)
