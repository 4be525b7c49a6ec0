"""One manifest file being loaded: where its problems go and how paths become positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.exportspec import ExportSpec
from reconciler.fields import format_time_ms
from reconciler.manifest.problems import Problem, format_path
from reconciler.manifest.yamlsource import ParsedYaml
from reconciler.spec import AccountAccess


@dataclass
class FileContext:
    """One file being loaded: where problems go and how paths become positions."""

    path: str
    parsed: ParsedYaml
    problems: list[Problem]
    accounts: list[AccountAccess] = field(default_factory=list)
    exports: list[ExportSpec] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str, *, at_key: bool = False) -> None:
        where = self.parsed.position(path, at_key=at_key)
        self.problems.append(
            Problem(self.path, where.line, where.column, format_path(path), message)
        )


def range_ok(
    context: FileContext,
    start: datetime | None,
    end: datetime | None,
    end_path: tuple[str | int, ...],
    start_field: str,
) -> bool:
    if start is not None and end is not None and not start < end:
        context.add(
            end_path,
            f"must be after {start_field} ({format_time_ms(end)} is not after "
            f"{format_time_ms(start)})",  # _ms: an export's times may have milliseconds
        )
        return False
    return True
