"""One manifest file being loaded: where its problems go and how paths become positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.exportspec import ExportSpec
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
