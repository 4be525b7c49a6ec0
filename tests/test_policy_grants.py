"""Reading a role's own policies for one action on one resource (preflight/policy_grants.py):
a table of statements and what they say. The reading feeds warnings, so it errs towards
"allowed" (conditions count as grants) and says "denied" only for an unconditional Deny."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.preflight.policy_grants import Grant, grant

STORE = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/abc"
ACTION = "cloudtrail:GetEventDataStoreData"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = ACTION, resource: Any = STORE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


CASES: dict[str, tuple[list[Any], Grant]] = {
    "exact action and resource": ([doc(allow())], Grant.ALLOWED),
    "no policies at all": ([], Grant.ABSENT),
    "another action only": ([doc(allow("cloudtrail:GetEventDataStore"))], Grant.ABSENT),
    "service wildcard": ([doc(allow("cloudtrail:*"))], Grant.ALLOWED),
    "prefix wildcard": ([doc(allow("cloudtrail:GetEventDataStore*"))], Grant.ALLOWED),
    "? matches one character": ([doc(allow("cloudtrail:GetEventDataStoreDat?"))], Grant.ALLOWED),
    "actions ignore case": ([doc(allow("CloudTrail:geteventdatastoredata"))], Grant.ALLOWED),
    "everything": ([doc(allow("*", "*"))], Grant.ALLOWED),
    "a list of actions": ([doc(allow(["s3:GetObject", ACTION]))], Grant.ALLOWED),
    "resource wildcard": ([doc(allow(resource="arn:aws:cloudtrail:*:*:eventdatastore/*"))],
                          Grant.ALLOWED),
    "another store": ([doc(allow(resource=STORE.replace("abc", "xyz")))], Grant.ABSENT),
    "resources keep their case": ([doc(allow(resource=STORE.upper()))], Grant.ABSENT),
    "regex characters are literal": ([doc(allow(resource=STORE.replace("/", ".")))], Grant.ABSENT),
    "NotAction excluding another service grants it": (
        [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], Grant.ALLOWED),
    "NotAction excluding it does not": (
        [doc({"Effect": "Allow", "NotAction": "cloudtrail:*", "Resource": "*"})], Grant.ABSENT),
    "NotResource of another store grants this one": (
        [doc({"Effect": "Allow", "Action": ACTION, "NotResource": STORE + "x"})], Grant.ALLOWED),
    "a conditional allow counts (conditions are not evaluated)": (
        [doc(allow(Condition={"StringEquals": {"aws:SourceAccount": "1"}}))], Grant.ALLOWED),
    "an unconditional deny wins": (
        [doc(allow(), {"Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"})],
        Grant.DENIED),
    "a conditional deny is not read as a denial": (
        [doc(allow(), {"Effect": "Deny", "Action": "*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})], Grant.ALLOWED),
    "a single statement, not a list": ([{"Statement": allow()}], Grant.ALLOWED),
    "the grant may sit in a second document": ([doc(allow("s3:*")), doc(allow())], Grant.ALLOWED),
    "damaged documents are skipped": (["x", {"Statement": ["y", 3]}, doc(allow())], Grant.ALLOWED),
}  # fmt: skip


@pytest.mark.parametrize(("documents", "expected"), CASES.values(), ids=list(CASES))
def test_grant(documents: list[Any], expected: Grant) -> None:
    assert grant(documents, ACTION, [STORE]) is expected


def test_any_spelling_of_the_resource_may_match() -> None:
    group = "arn:aws:logs:us-east-1:123456789012:log-group:aws/cloudtrail/abc"
    with_suffix = [doc(allow("logs:CreateLogStream", group + ":*"))]
    assert grant(with_suffix, "logs:CreateLogStream", [group]) is Grant.ABSENT
    assert grant(with_suffix, "logs:CreateLogStream", [group, group + ":*"]) is Grant.ALLOWED


def test_a_deny_with_not_resource_excluding_one_spelling_is_not_a_denial() -> None:
    group = "arn:aws:logs:us-east-1:123456789012:log-group:aws/cloudtrail/abc"
    documents = [
        doc(
            allow("logs:*", "*"),
            {"Effect": "Deny", "Action": "logs:*", "NotResource": [group, group + ":*"]},
        )
    ]
    assert grant(documents, "logs:CreateLogGroup", [group, group + ":*"]) is Grant.ALLOWED
    narrow = [doc(allow("logs:*", "*"), {"Effect": "Deny", "Action": "logs:*",
                                          "NotResource": group})]  # fmt: skip
    assert grant(narrow, "logs:CreateLogGroup", [group, group + ":*"]) is Grant.ALLOWED
    assert grant(narrow, "logs:CreateLogGroup", [group + ":x"]) is Grant.DENIED
