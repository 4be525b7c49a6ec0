"""README stays the manual: every schema field documented, the two newcomer commands first."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).parent.parent
README = (REPO / "README.md").read_text()


def _properties(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for name, value in schema.get("properties", {}).items():
            found.add(name)
            found |= _properties(value)
        for key, value in schema.items():
            if key != "properties":
                found |= _properties(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _properties(item)
    return found


def _reference_tokens() -> set[str]:
    section = README.split("### Manifest reference", 1)[1].split("\n## ", 1)[0]
    tokens: set[str] = set()
    for span in re.findall(r"`([^`]+)`", section):
        tokens |= set(re.split(r"[.,\s]+", span))
    return tokens


def test_every_schema_field_is_in_the_manifest_reference() -> None:
    schema = json.loads((REPO / "manifest.schema.json").read_text())
    fields = _properties(schema)
    assert len(fields) > 20
    missing = sorted(fields - _reference_tokens())
    assert missing == [], f"document these in README's manifest reference: {missing}"


def test_readme_starts_with_the_two_newcomer_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("reconcile demo")
    assert commands[1].endswith("python -m pytest")
    assert "python -m pytest" in (REPO / ".ci" / "run").read_text()


def test_every_exit_code_is_documented() -> None:
    from reconciler.errors import ExitCode

    table = README.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ExitCode:
        assert f"| {int(code)} |" in table


def test_every_finding_code_is_in_the_preflight_table_with_its_severity() -> None:
    from reconciler.preflight.codes import CODES

    section = README.split("## Preflight: know before you pay", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \|", section, re.MULTILINE))
    assert {code: rows.get(code, "").strip() for code in CODES} == {
        code: severity for code, (severity, _) in CODES.items()
    }


def test_every_code_a_finding_is_made_with_is_a_known_code() -> None:
    """Codes are written once, in preflight/codes.py; the rest of the code names them."""
    from reconciler.preflight.codes import CODES

    used: set[str] = set()
    for path in (REPO / "reconciler").rglob("*.py"):
        used |= set(re.findall(r'code="([a-z-]+)"', path.read_text()))
    assert used <= set(CODES)
