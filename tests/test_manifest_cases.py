"""Table-driven manifest cases: every file or folder in tests/manifests/{valid,invalid}.

An invalid case lists the exact problems (`CASE.expected`, one `file:line:col: field: message`
per line); a valid case lists the normalised imports it must load to (`CASE.expected`, JSON).
Run with UPDATE_GOLDEN=1 to rewrite the expectations after a deliberate change, then review
the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.exportspec import ExportSpec
from reconciler.fields import format_time, format_time_ms
from reconciler.manifest.load import load_manifests
from reconciler.spec import ImportSpec

CASES = Path(__file__).parent / "manifests"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _cases(kind: str) -> list[str]:
    return sorted(p.name for p in (CASES / kind).iterdir() if ".expected" not in p.name)


def _normalised(spec: ImportSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "destination": spec.destination,
        "source_uri": spec.source_uri,
        "bucket_region": spec.bucket_region,
        "role_arn": spec.role_arn,
        "start": format_time(spec.start) if spec.start else None,
        "end": format_time(spec.end) if spec.end else None,
        "max_attempts": spec.retry.max_attempts,
        "retry_stopped": spec.retry.stopped,
        "import_id": spec.import_id,
        "allow_overlap": spec.allow_overlap,
        "line": spec.location.line,
        "column": spec.location.column,
    }


def _export(spec: ExportSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "source": spec.source,
        "role_arn": spec.role_arn,
        "start": format_time_ms(spec.start) if spec.start else None,
        "end": format_time_ms(spec.end) if spec.end else None,
        "import_id": spec.import_id,
        "allow_overlap": spec.allow_overlap,
        "line": spec.location.line,
        "column": spec.location.column,
    }


@pytest.mark.parametrize("case", _cases("invalid"))
def test_invalid_manifest_reports_exact_problems(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES / "invalid")
    result = load_manifests([case])
    actual = [problem.format() for problem in result.problems]
    expected_file = CASES / "invalid" / f"{case}.expected"
    if UPDATE:
        expected_file.write_text("\n".join(actual) + "\n")
    expected = expected_file.read_text().splitlines()
    assert actual == expected
    assert actual, "an invalid case must report at least one problem"


@pytest.mark.parametrize("case", _cases("valid"))
def test_valid_manifest_loads_to_expected_imports(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES / "valid")
    result = load_manifests([case])
    assert [p.format() for p in result.problems] == []
    actual: Any = [_normalised(spec) for spec in result.imports]
    if result.exports:
        actual = {"imports": actual, "exports": [_export(spec) for spec in result.exports]}
    expected_file = CASES / "valid" / f"{case}.expected"
    if UPDATE:
        expected_file.write_text(json.dumps(actual, indent=2) + "\n")
    assert actual == json.loads(expected_file.read_text())


def test_all_valid_cases_together_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names are unique and ranges disjoint across the valid cases, read as one directory."""
    monkeypatch.chdir(CASES)
    result = load_manifests(["valid"])
    assert [p.format() for p in result.problems] == []
    assert len(result.files) == len(_cases("valid"))
