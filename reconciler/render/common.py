"""What every renderer shares: symbols, plain-text cleaning and the wording of facts.

Renderers walk a Plan and never decide anything: every sentence about *why* comes from the
planner (`Action.reason`); this module only words the numbers and names the plan carries.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from reconciler.observed import Failure
from reconciler.plan.types import (
    SHOWN_STARTING,
    Action,
    ActionKind,
    Estimate,
    ExportIdentityView,
    Finding,
    IdentityView,
    Progress,
)

# One symbol per kind, terraform-like. `noop` with attribute changes shows NOOP_CHANGED instead.
SYMBOLS: dict[ActionKind, str] = {
    ActionKind.CREATE: "+",
    ActionKind.ADOPT: "<=",
    ActionKind.RENAME: "->",
    ActionKind.RETRY: "~",
    ActionKind.REPLACE: "-/+",
    ActionKind.FORGET: "-",
    ActionKind.QUEUED: "..",
    ActionKind.PENDING: "?",
    ActionKind.RUNNING: ">",
    ActionKind.NOOP: "=",
    ActionKind.ATTENTION: "!",
}
NOOP_CHANGED = "~"

# More plain noops than this collapse into one "N unchanged imports" line (text) or row
# (markdown): a plan over thousands of finished imports stays readable.
NOOP_LIST_LIMIT = 20
# Failures shown per action before "and N more" (the JSON document has them all).
FAILURES_SHOWN = 5

_WHITESPACE = re.compile(r"\s+")


def is_plain_noop(action: Action) -> bool:
    """A noop with nothing to show but its name: listed compactly, never as a block."""
    return action.action is ActionKind.NOOP and not action.changes


def symbol(action: Action) -> str:
    if action.action is ActionKind.NOOP and action.changes:
        return NOOP_CHANGED
    return SYMBOLS[action.action]


def clean(text: object) -> str:
    """One line of printable text: whitespace runs become one space, control characters
    (ANSI escapes in an AWS error message, say) become visible escapes, never raw bytes."""
    flat = _WHITESPACE.sub(" ", str(text)).strip()
    return "".join(
        f"\\x{ord(ch):02x}" if unicodedata.category(ch).startswith("C") else ch for ch in flat
    )


def value_text(value: Any) -> str:
    """A changed field's value as JSON text: strings quoted, None as null."""
    return clean(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def range_text(identity: IdentityView | ExportIdentityView, separator: str = " .. ") -> str:
    return f"{identity.start or '(none)'}{separator}{identity.end or '(none)'}"


def progress_text(progress: Progress) -> str:
    """`IN_PROGRESS: 3 of 10 prefixes, 120 files, 48,311 events, 2 failed entries`."""
    parts = []
    if progress.prefixes_found is not None:
        parts.append(
            f"{progress.prefixes_completed or 0:,} of {progress.prefixes_found:,} prefixes"
        )
    if progress.files_completed is not None:
        parts.append(plural(progress.files_completed, "file", "files"))
    if progress.events_completed is not None:
        parts.append(plural(progress.events_completed, "event", "events"))
    if progress.failed_entries:
        parts.append(plural(progress.failed_entries, "failed entry", "failed entries"))
    status = clean(progress.status)
    return f"{status}: {', '.join(parts)}" if parts else status


def queue_text(action: Action) -> str | None:
    """`#2 in its queue, behind payments-2024-h1`, or None outside a queue.

    Without a position, `blocked_by` is shown as it is (the planner also uses it for
    "backoff until TIME")."""
    if action.queue_position is None and action.blocked_by is None:
        return None
    if action.queue_position is None:
        return clean(f"blocked by {action.blocked_by}")
    # The queue is the account's, or the account's and Region's (--queue-scope region): the
    # reason names which; here only the position and what is ahead.
    text = f"#{action.queue_position} in its queue"
    if action.blocked_by:
        text += f", behind {action.blocked_by}"
    return clean(text)


def failure_text(failure: Failure, limit: int | None = None) -> str:
    """`location: ErrorType: message` (message cut at `limit` characters when given)."""
    message = clean(failure.error_message)
    if limit is not None and len(message) > limit:
        message = message[: limit - 1] + "…"
    return f"{clean(failure.location)}: {clean(failure.error_type)}: {message}"


def finding_parts(finding: Finding) -> tuple[str, str, list[str]]:
    """`severity code: message`, the fix's sentence, and the manifest lines it suggests (a fix
    may end with YAML to paste: kept line by line, cleaned, with its indentation)."""
    head = f"{clean(finding.severity)} {clean(finding.code)}: {clean(finding.message)}"
    prose, _, rest = finding.fix.partition("\n")
    lines = [
        " " * (len(raw) - len(raw.lstrip(" "))) + clean(raw)
        for raw in rest.splitlines()
        if raw.strip()
    ]
    return head, clean(prose), lines


def start_fields(action: Action) -> list[tuple[str, str]]:
    """What a start sends besides its identity: the role CloudTrail assumes and the bucket's
    Region (a reviewer approves these too)."""
    if action.action not in SHOWN_STARTING:
        return []
    found = []
    role, region = action.attributes.get("role_arn"), action.attributes.get("bucket_region")
    if isinstance(role, str):
        found.append(("role", role))
    if isinstance(region, str):
        found.append(("s3 region", region))
    return found


def size_text(count: int) -> str:
    """Bytes as people read them: 104.2 KiB, 3.1 GiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count:,} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count:,} B"  # not reached


def cost_text(usd: float) -> str:
    """`about $12.50`, `under $0.01`, `$0.00`."""
    if usd == 0:
        return "$0.00"
    return "under $0.01" if usd < 0.01 else f"about ${usd:,.2f}"


def estimate_text(estimate: Estimate) -> str:
    """`96 files, 104.2 KiB in S3 (1.0 MiB uncompressed), about $0.01 to ingest`."""
    files = "1 file" if estimate.files == 1 else f"{estimate.files:,} files"
    return (
        f"{files}, {size_text(estimate.bytes)} in S3 ({size_text(estimate.uncompressed_bytes)} "
        f"uncompressed), {cost_text(estimate.cost_usd)} to ingest"
    )


def title(action: Action) -> str:
    """The action's name; a rename shows where it comes from."""
    if action.previous_name:
        return clean(f"{action.previous_name} -> {action.name}")
    return clean(action.name)


def store_id(destination: str) -> str:
    """The event data store's ID, the last part of its ARN (the whole text if not an ARN)."""
    return destination.rsplit("/", 1)[-1]
