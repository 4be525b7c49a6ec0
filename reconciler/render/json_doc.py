"""The plan as JSON for machines: `Plan.to_json()`, pinned keys in a stable order.

The document is described by `reconciler/plan.schema.json` (draft-07), which the tests hold
it to.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, TextIO, cast

from reconciler.plan.types import Plan


def render_json_document(plan: Plan) -> dict[str, Any]:
    """`plan.to_json()`: JSON-native already (lists, strings, numbers), in a stable order."""
    return plan.to_json()


def render_json(plan: Plan) -> str:
    return json.dumps(render_json_document(plan), indent=2)


def write_json(plan: Plan, stream: TextIO) -> None:
    """`render_json(plan)` and a newline, written in pieces as they are encoded: the whole
    text of a 10,000-action plan (and the million small strings it is joined from) is never
    held at once."""
    pending: list[str] = []
    for chunk in json.JSONEncoder(indent=2).iterencode(render_json_document(plan)):
        pending.append(chunk)
        if len(pending) >= 4096:
            stream.write("".join(pending))
            pending.clear()
    pending.append("\n")
    stream.write("".join(pending))


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document (package data `reconciler/plan.schema.json`)."""
    text = resources.files("reconciler").joinpath("plan.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))
