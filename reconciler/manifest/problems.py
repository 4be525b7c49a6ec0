"""A problem found in a manifest, and its two renderings (one line of text, or JSON data)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    field: str  # e.g. "imports[1].end_event_time"; empty for whole-file problems
    message: str

    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def format(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location()}:{field} {self.message}"


def format_path(path: Sequence[str | int]) -> str:
    """("imports", 1, "source", "uri") -> "imports[1].source.uri"."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


def problems_json(problems: Sequence[Problem], files: Sequence[str], imports: int) -> str:
    """The `validate --json` document: stable keys, problems in report order."""
    document = {
        "format_version": 1,
        "valid": not problems,
        "files": list(files),
        "imports": imports,
        "problems": [asdict(problem) for problem in problems],
    }
    return json.dumps(document, indent=2)
