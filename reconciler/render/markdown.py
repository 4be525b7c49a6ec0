"""Markdown for pull-request comments: summary heading, one table, collapsible details.

GitHub refuses comments over 65,536 characters, so the output is kept under `limit`: details
are dropped first (from the end), then unmanaged imports, then table rows, and a note says
what was left out. User-provided text (names, messages, URIs) is escaped with HTML entities,
which are safe in table cells, list items and inside `<summary>` alike.
"""

from __future__ import annotations

import re

from reconciler.plan.types import Action, ActionKind, Finding, Plan, UnmanagedImport
from reconciler.render.common import (
    FAILURES_SHOWN,
    NOOP_LIST_LIMIT,
    SYMBOLS,
    clean,
    cost_text,
    estimate_text,
    failure_text,
    finding_parts,
    is_plain_noop,
    plural,
    progress_text,
    queue_text,
    range_text,
    start_fields,
    store_id,
    symbol,
    title,
    value_text,
)

GITHUB_COMMENT_LIMIT = 65_000
# Room kept for the truncation note once anything has to go.
_NOTE_RESERVE = 400
# A single failure message can be long; the JSON artifact has it whole.
_MESSAGE_LIMIT = 500

# Characters that are markup somewhere in GitHub markdown or HTML (`|` splits table cells,
# `@` mentions people); everything else passes through. `_` between two letters or digits is
# never emphasis (GFM), so `IN_PROGRESS` and `role_arn` stay readable in the raw comment.
_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "&<>`*_[]|~\\@"}
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MARKUP = re.compile(r"[&<>`*\[\]|~\\@]")
_UNMANAGED_CLOSE = "\n</details>\n\n"
_TABLE_HEAD = "| Action | Name | Destination | Range | Status / queue |\n|---|---|---|---|---|\n"


FENCE = "`" * 3  # a Markdown code fence


def md(text: object) -> str:
    """Escape user-provided text for markdown and HTML contexts (one line, no markup)."""
    escaped = _MARKUP.sub(lambda m: _ENTITIES[m.group()], clean(text))
    return _LONE_UNDERSCORE.sub(_ENTITIES["_"], escaped)


def render_markdown(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    heading = f"### {plan.summary_line()}\n\n"
    if plan.estimate is not None:
        heading += f"**Estimate:** {md(estimate_text(plan.estimate))}.\n\n"
    listed = [a for a in plan.actions if not is_plain_noop(a)]
    noops = [a for a in plan.actions if is_plain_noop(a)]
    # (row, number of actions it stands for)
    rows = [(_row(a), 1) for a in listed]
    if len(noops) > NOOP_LIST_LIMIT:
        count = plural(len(noops), "unchanged import", "unchanged imports")
        rows.append((f"| `{SYMBOLS[ActionKind.NOOP]} noop` | _{count}_ | | | |\n", len(noops)))
    else:
        rows += [(_row(a), 1) for a in noops]
    details = [_details(a) for a in listed]
    unmanaged = [_unmanaged_item(item) for item in plan.unmanaged]

    full = _assemble(heading, rows, details, unmanaged, note="")
    if len(full) <= limit:
        return full

    budget = limit - _NOTE_RESERVE - len(heading) - len(_TABLE_HEAD)
    kept_rows = _fit([row for row, _ in rows], budget)
    budget -= sum(len(row) for row, _ in rows[:kept_rows])
    kept_unmanaged = kept_details = 0
    if kept_rows == len(rows) and unmanaged:
        frame = len(_unmanaged_open(len(unmanaged))) + len(_UNMANAGED_CLOSE)
        kept_unmanaged = _fit(unmanaged, budget - frame)
        if kept_unmanaged:
            budget -= frame + sum(map(len, unmanaged[:kept_unmanaged]))
    if kept_rows == len(rows) and kept_unmanaged == len(unmanaged):
        kept_details = _fit(details, budget)

    left_out = []
    hidden_actions = sum(count for _, count in rows[kept_rows:])
    if hidden_actions:
        left_out.append(plural(hidden_actions, "more action", "more actions") + " not listed")
    if len(details) > kept_details:
        dropped = plural(len(details) - kept_details, "action", "actions")
        left_out.append(f"details of {dropped} omitted")
    if len(unmanaged) > kept_unmanaged:
        left_out.append(
            plural(len(unmanaged) - kept_unmanaged, "unmanaged import", "unmanaged imports")
            + " not listed"
        )
    note = (
        f"_Truncated: {'; '.join(left_out)}; run `reconcile plan` locally "
        "or see the JSON artifact._\n"
    )
    text = _assemble(
        heading,
        rows[:kept_rows],
        details[:kept_details],
        unmanaged[:kept_unmanaged],
        note,
        unmanaged_total=len(unmanaged),
    )
    return text if len(text) <= limit else text[:limit]  # only for absurdly small limits


def _fit(parts: list[str], budget: int) -> int:
    """How many of `parts`, from the start, fit in `budget` characters."""
    used = count = 0
    for part in parts:
        used += len(part)
        if used > budget:
            break
        count += 1
    return count


def _assemble(
    heading: str,
    rows: list[tuple[str, int]],
    details: list[str],
    unmanaged: list[str],
    note: str,
    unmanaged_total: int | None = None,
) -> str:
    out = [heading]
    if rows:
        out.append(_TABLE_HEAD)
        out.extend(row for row, _ in rows)
        out.append("\n")
    elif not note:
        out.append("No imports in scope.\n\n")
    out.extend(details)
    if unmanaged:
        out.append(_unmanaged_open(unmanaged_total or len(unmanaged)))
        out.extend(unmanaged)
        out.append(_UNMANAGED_CLOSE)
    out.append(note)
    return "".join(out).rstrip("\n")


def _row(action: Action) -> str:
    destination = f"{md(action.account)}/{md(action.region)}<br>{md(store_id(action.destination))}"
    status = []
    if action.progress:
        status.append(md(progress_text(action.progress)))
    queue = queue_text(action)
    if queue:
        status.append(md(queue))
    if action.outcome:
        status.append(md(action.outcome))
    if action.estimate is not None:
        status.append(md(f"{action.estimate.files:,} files, {cost_text(action.estimate.cost_usd)}"))
    cells = [
        f"`{symbol(action)} {action.action.value}`",
        md(title(action)),
        destination,
        md(range_text(action.identity)),
        "<br>".join(status),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _details(action: Action) -> str:
    summary = f"<code>{md(symbol(action))} {action.action.value}</code> {md(title(action))}"
    items = []
    if action.reason:
        items.append(f"**Reason:** {md(action.reason)}")
    if action.manifest:
        items.append(f"**Manifest:** {md(action.manifest)}")
    if action.import_id:
        items.append(f"**Import ID:** {md(action.import_id)}")
    identity = action.identity
    items.append(f"**Destination:** {md(identity.destination)}")
    items.append(f"**Source:** {md(identity.source_uri)}")
    items.append(f"**Range:** {md(range_text(identity))}")
    for label, value in start_fields(action):
        items.append(f"**{label[0].upper()}{label[1:]}:** {md(value)}")
    queue = queue_text(action)
    if queue:
        items.append(f"**Queue:** {md(queue)}")
    if action.progress:
        items.append(f"**Progress:** {md(progress_text(action.progress))}")
    if action.estimate is not None:
        items.append(f"**Estimate:** {md(estimate_text(action.estimate))}")
    if action.outcome:
        items.append(f"**Outcome:** {md(action.outcome)}")
    if action.changes:
        items.append(
            "**Changes:**"
            + "".join(
                f"\n  - {md(c.field)}: {md(value_text(c.before))} → {md(value_text(c.after))}"
                for c in action.changes
            )
        )
    if action.findings:
        items.append("**Findings:**" + "".join(_finding(f) for f in action.findings))
    if action.failures:
        shown = action.failures[:FAILURES_SHOWN]
        lines = [f"\n  - {md(failure_text(f, _MESSAGE_LIMIT))}" for f in shown]
        if len(action.failures) > len(shown):
            lines.append(f"\n  - and {len(action.failures) - len(shown):,} more")
        items.append("**Failures:**" + "".join(lines))
    body = "".join(f"- {item}\n" for item in items)
    return f"<details><summary>{summary}</summary>\n\n{body}\n</details>\n\n"


def _finding(finding: Finding) -> str:
    head, fix, suggested = finding_parts(finding)
    text = f"\n  - {md(head)}<br>fix: {md(fix)}"
    if suggested:  # manifest lines to paste: kept verbatim in a code block
        block = "\n".join(f"    {line}" for line in suggested).replace(FENCE, "'" * 3)
        text += f"\n\n    {FENCE}yaml\n{block}\n    {FENCE}\n"
    return text


def _unmanaged_open(total: int) -> str:
    count = plural(total, "unmanaged import", "unmanaged imports")
    return (
        f"<details><summary>{count} (for information; no manifest in scope names them)"
        "</summary>\n\n"
    )


def _unmanaged_item(item: UnmanagedImport) -> str:
    parts = [f"{md(item.import_id)}: {md(item.status)} in {md(item.account)}/{md(item.region)}"]
    if item.destination:
        parts.append(f"destination {md(item.destination)}")
    if item.created:
        parts.append(f"created {md(item.created)}")
    return "- " + ", ".join(parts) + "\n"
