"""The manifest JSON Schema, for editors (yaml-language-server) and for `reconcile schema`.

yaml-language-server understands draft-07 but not 2019-09/2020-12, and pydantic names no
draft, so the schema is emitted with draft-07's `definitions` and `$schema`.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.manifest.models import ManifestDocument


def manifest_schema() -> dict[str, Any]:
    schema = ManifestDocument.model_json_schema(ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
    schema.pop("title", None)
    schema.pop("description", None)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "reconcile manifest",
        "description": (
            "CloudTrail Lake imports that `reconcile` keeps in place. Entries are either "
            "friendly (name, destination, source, start_event_time, end_event_time, retry) "
            "or in the shape `aws cloudtrail start-import --generate-cli-skeleton` prints, "
            "plus a name."
        ),
        **schema,
        "definitions": definitions,
    }


def manifest_schema_json() -> str:
    return json.dumps(manifest_schema(), indent=2)
