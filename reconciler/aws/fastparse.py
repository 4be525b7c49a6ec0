"""ListImports answers read by `json` alone, not by botocore's shape walker.

Apply lists the destination store right before every StartImport (DESIGN.md "Apply safety"),
so a store holding thousands of imports is parsed again and again; botocore walks every field
of every item through its model (about 20 ms per 1,000 items on our 2-core machine), while the
awsJson wire format of an item is already what we need: strings, and timestamps as epoch
seconds. The handler takes the `Imports` list out of a successful answer before botocore
parses the rest (NextToken), and hands it back untouched beside the parsed fields.

It declines (botocore parses as always) unless the answer is plainly the documented shape:
a 200 JSON object whose `Imports` is a list of objects with a string ImportId and numeric or
absent timestamps. An item read wrongly could hide a neighbour's import from the last look,
so anything unexpected goes the slow, modelled way.
"""

from __future__ import annotations

import json
from typing import Any

EVENT = "before-parse.cloudtrail.ListImports"
_TIMES = ("CreatedTimestamp", "UpdatedTimestamp")


def _plain(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("ImportId"), str):
        return False
    for key in _TIMES:
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return False
    return True


def lift_imports(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore's before-parse hook: move a plain `Imports` list past the parser."""
    if response_dict.get("status_code") != 200:
        return
    try:
        body = json.loads(response_dict.get("body") or b"")
    except (ValueError, TypeError):
        return
    if not isinstance(body, dict):
        return
    items = body.get("Imports")
    if not isinstance(items, list) or not all(_plain(item) for item in items):
        return
    del body["Imports"]
    customized_response_dict["Imports"] = items
    response_dict["body"] = json.dumps(body).encode()


def install(client: Any) -> None:
    """Register the hook on a CloudTrail client (its own event emitter: other clients and
    operations are untouched)."""
    client.meta.events.register(EVENT, lift_imports)
