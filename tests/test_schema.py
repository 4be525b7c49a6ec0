"""The JSON Schema: committed copy in sync, draft-07, and agreeing with the loader on cases."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.manifest.schema import manifest_schema, manifest_schema_json

REPO = Path(__file__).parent.parent
VALID = REPO / "tests" / "manifests" / "valid"
EXAMPLES = REPO / "manifests" / "examples"


def test_committed_schema_is_current() -> None:
    committed = (REPO / "manifest.schema.json").read_text()
    assert committed == manifest_schema_json() + "\n", (
        "run: reconcile schema > manifest.schema.json"
    )


def test_schema_is_valid_draft_07() -> None:
    schema = manifest_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    assert "$defs" not in json.dumps(schema)  # yaml-language-server reads draft-07 definitions


def _as_json(value: Any) -> Any:
    """YAML gives datetimes and dates; a manifest written as JSON would hold strings."""
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


MANIFESTS = sorted(
    p
    for folder in (VALID, EXAMPLES)
    for p in folder.rglob("*")
    if p.suffix in (".yaml", ".yml", ".json")
)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_valid_manifests_satisfy_the_schema(path: Path) -> None:
    document = _as_json(yaml.safe_load(path.read_text()))
    jsonschema.Draft7Validator(manifest_schema()).validate(document)


@pytest.mark.parametrize(
    "document",
    [
        {"imports": []},
        {"version": 2},
        {"version": 1, "extra": True},
        {"version": 1, "imports": [{"name": "x", "destinaton": "typo"}]},
        {"version": 1, "imports": [{"name": "x", "Destinations": ["a", "b"]}]},
    ],
)
def test_schema_rejects_what_the_loader_rejects(document: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(manifest_schema()).validate(document)
