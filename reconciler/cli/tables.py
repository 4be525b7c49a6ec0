"""Plain-text tables and JSON output shared by the status and state commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from reconciler.cli.app import emit_json, global_settings

# Status colours (only when --color says so): finished well, finished badly, still going.
STATUS_COLORS = {
    "COMPLETED": "green",
    "FAILED": "red",
    "STOPPED": "yellow",
    "NOT_FOUND": "red",
    "INITIALIZING": "cyan",
    "IN_PROGRESS": "cyan",
    "PENDING": "magenta",
}
RIGHT = "right"


def number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def text(value: object) -> str:
    from reconciler.render.common import clean

    return "-" if value is None or value == "" else clean(value)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    color: bool,
    right: frozenset[int] = frozenset(),
    status_column: int | None = None,
) -> str:
    """Plain aligned columns (two spaces apart); the last column is never padded."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str], header: bool) -> str:
        out = []
        for i, cell in enumerate(cells):
            last = i == len(cells) - 1
            padded = (
                cell.rjust(widths[i]) if i in right else cell if last else cell.ljust(widths[i])
            )
            if color and header:
                padded = click.style(padded, bold=True)
            elif color and i == status_column and cell in STATUS_COLORS:
                padded = click.style(padded, fg=STATUS_COLORS[cell])
            out.append(padded)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers, True), *(line(row, False) for row in rows)])


def echo_json(value: Any) -> None:
    emit_json(global_settings(click.get_current_context()), value)


def no_records(source: str, exists: bool) -> str:
    if not exists:
        return f"No imports recorded: state {source} does not exist yet."
    return f"No imports recorded in state {source}."


# -- status ---------------------------------------------------------------------------------
