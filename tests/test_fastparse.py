"""ListImports answers read by json alone (aws/fastparse.py): taken only when plainly the
documented shape, otherwise left to botocore."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.aws.fastparse import lift_imports

ITEM = {
    "ImportId": "a" * 36,
    "ImportStatus": "COMPLETED",
    "Destinations": ["arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x"],
    "CreatedTimestamp": 1767225600.5,
    "UpdatedTimestamp": 1767225700,
}


def lifted(body: Any, status: int = 200) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = {"status_code": status, "body": raw, "headers": {}}
    customized: dict[str, Any] = {}
    lift_imports(response_dict=response, customized_response_dict=customized)
    return response, customized


def test_plain_items_pass_the_parser_untouched() -> None:
    response, customized = lifted({"Imports": [ITEM, {"ImportId": "b" * 36}], "NextToken": "t"})
    assert customized == {"Imports": [ITEM, {"ImportId": "b" * 36}]}
    assert json.loads(response["body"]) == {"NextToken": "t"}  # botocore parses the rest


@pytest.mark.parametrize(
    "body, status",
    [
        ({"Imports": [ITEM]}, 400),  # errors are botocore's to read
        (b"not json", 200),
        (b"", 200),
        ([ITEM], 200),
        ({"Imports": "x"}, 200),
        ({"Imports": [ITEM, "x"]}, 200),
        ({"Imports": [{**ITEM, "ImportId": 7}]}, 200),
        ({"Imports": [{k: v for k, v in ITEM.items() if k != "ImportId"}]}, 200),
        ({"Imports": [{**ITEM, "CreatedTimestamp": "2026-01-01T00:00:00Z"}]}, 200),
        ({"Imports": [{**ITEM, "UpdatedTimestamp": True}]}, 200),
        ({"NextToken": "t"}, 200),
    ],
)
def test_anything_unexpected_is_left_to_botocore(body: Any, status: int) -> None:
    before = body if isinstance(body, bytes) else json.dumps(body).encode()
    response, customized = lifted(body, status)
    assert customized == {}
    assert response["body"] == before
