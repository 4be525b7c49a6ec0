"""The plan as JSON for machines: `Plan.to_json()`, pinned keys in a stable order.

The document is described by `reconciler/plan.schema.json` (draft-07), which the tests hold
it to.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast

from reconciler.plan.types import Plan


def render_json_document(plan: Plan) -> dict[str, Any]:
    """`plan.to_json()`: JSON-native already (lists, strings, numbers), in a stable order."""
    return plan.to_json()


def render_json(plan: Plan) -> str:
    return json.dumps(render_json_document(plan), indent=2)


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document (package data `reconciler/plan.schema.json`)."""
    text = resources.files("reconciler").joinpath("plan.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))
