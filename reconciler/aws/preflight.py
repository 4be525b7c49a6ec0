"""The calls preflight makes, answered as `reconciler.preflight.facts` values.

GetEventDataStore, GetBucketLocation, GetBucketOwnershipControls, ListObjectsV2, iam:GetRole
and organizations:DescribeOrganization: all reads, with botocore's standard retries. A refusal
for lack of permission raises `Unreadable` naming the permission (never a false "not found");
only AWS's own "does not exist" codes raise `NotFound`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory
from reconciler.ports import (
    BucketFacts,
    ListPage,
    NotFound,
    RoleFacts,
    RolePolicies,
    S3Object,
    StoreFacts,
    Unreadable,
)

T = TypeVar("T")
DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
)
CLOUDTRAIL = "cloudtrail.amazonaws.com"
TRAIL_CATEGORIES = frozenset({"Management", "Data", "NetworkActivity"})
LIST_PAGE = 1000
# Condition operators whose aws:SourceArn values are the only stores the role trusts.
ALLOW_LISTS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})


def _asked(
    operation: str, permission: str, missing: frozenset[str], function: Callable[[], T]
) -> T:
    try:
        return call(operation, function)
    except AwsCallError as exc:
        if exc.code in missing:
            raise NotFound(str(exc)) from None
        if exc.code in DENIED:
            raise Unreadable(str(exc), permission=permission) from None
        raise Unreadable(str(exc)) from None


class PreflightCalls:
    """One account's preflight reads; counts calls per operation (benchmarks, tests)."""

    def __init__(self, factory: ClientFactory, account: str) -> None:
        self.factory = factory
        self.account = account
        self.calls: dict[str, int] = {}
        self.listed: list[tuple[str, str | None]] = []  # (Prefix, StartAfter) per ListObjectsV2
        self.objects_returned = 0

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def event_data_store(self, region: str, arn: str) -> StoreFacts:
        client = self.factory.cloudtrail(region)
        self._count("GetEventDataStore")
        item = _asked(
            "GetEventDataStore",
            "cloudtrail:GetEventDataStore",
            frozenset({"EventDataStoreNotFoundException", "EventDataStoreARNInvalidException"}),
            partial(client.get_event_data_store, EventDataStore=arn),
        )
        return StoreFacts(
            arn=arn,
            status=str(item.get("Status", "UNKNOWN")),
            holds_trail_events=_holds_trail_events(item.get("AdvancedEventSelectors") or []),
            retention_days=item.get("RetentionPeriod"),
            created=item.get("CreatedTimestamp"),
            organization=bool(item.get("OrganizationEnabled")),
            kms_key_id=item.get("KmsKeyId"),
            billing_mode=item.get("BillingMode"),
        )

    def bucket(self, name: str) -> BucketFacts:
        s3 = self.factory.client("s3", self.factory.region or "us-east-1")
        self._count("GetBucketLocation")
        location = _asked(
            "GetBucketLocation",
            "s3:GetBucketLocation",
            frozenset({"NoSuchBucket"}),
            partial(s3.get_bucket_location, Bucket=name),
        )
        region = location.get("LocationConstraint") or "us-east-1"
        region = "eu-west-1" if region == "EU" else str(region)
        regional = self.factory.client("s3", region)
        self._count("GetBucketOwnershipControls")
        try:
            controls = _asked(
                "GetBucketOwnershipControls",
                "s3:GetBucketOwnershipControls",
                frozenset({"OwnershipControlsNotFoundError"}),
                partial(regional.get_bucket_ownership_controls, Bucket=name),
            )
        except NotFound:
            return BucketFacts(name, region, None)
        except Unreadable as exc:
            return BucketFacts(name, region, None, ownership_unreadable=exc)
        rules = controls.get("OwnershipControls", {}).get("Rules") or [{}]
        ownership = rules[0].get("ObjectOwnership")
        return BucketFacts(name, region, str(ownership) if ownership else None)

    def role(self, arn: str) -> RoleFacts:
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account != self.account:  # not a refusal: a question this account cannot ask
            raise Unreadable(
                f"the role is in account {account}, and iam:GetRole reads only the roles of "
                f"the account whose credentials ask ({self.account})"
            )
        iam = self.factory.client("iam", "us-east-1")
        self._count("GetRole")
        item = _asked(
            "GetRole",
            "iam:GetRole",
            frozenset({"NoSuchEntity", "NoSuchEntityException"}),
            partial(iam.get_role, RoleName=arn.rsplit("/", 1)[-1]),
        )
        try:
            return trust_of(arn, item.get("Role", {}).get("AssumeRolePolicyDocument"))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise Unreadable(f"the role's trust policy could not be read ({exc})") from None

    def role_policies(self, arn: str) -> RolePolicies:
        """The role's inline policies (ListRolePolicies, GetRolePolicy) and its attached
        managed ones at their default version (ListAttachedRolePolicies, GetPolicy,
        GetPolicyVersion). botocore hands the documents over as JSON already."""
        iam = self.factory.client("iam", "us-east-1")
        role = arn.rsplit("/", 1)[-1]
        missing = frozenset({"NoSuchEntity", "NoSuchEntityException"})
        names: list[str] = []
        documents: list[Mapping[str, Any]] = []
        self._count("ListRolePolicies")
        for page in _pages(iam, "list_role_policies", "iam:ListRolePolicies", missing, role):
            for name in page.get("PolicyNames", []):
                self._count("GetRolePolicy")
                read = partial(iam.get_role_policy, RoleName=role, PolicyName=name)
                item = _asked("GetRolePolicy", "iam:GetRolePolicy", missing, read)
                names.append(f"inline {name}")
                documents.append(_document(item.get("PolicyDocument")))
        self._count("ListAttachedRolePolicies")
        listing = "list_attached_role_policies"
        for page in _pages(iam, listing, "iam:ListAttachedRolePolicies", missing, role):
            for attached in page.get("AttachedPolicies", []):
                policy_arn = attached["PolicyArn"]
                self._count("GetPolicy")
                policy = _asked("GetPolicy", "iam:GetPolicy", missing,
                                partial(iam.get_policy, PolicyArn=policy_arn))  # fmt: skip
                version = policy.get("Policy", {}).get("DefaultVersionId")
                self._count("GetPolicyVersion")
                item = _asked("GetPolicyVersion", "iam:GetPolicyVersion", missing,
                              partial(iam.get_policy_version, PolicyArn=policy_arn,
                                      VersionId=version))  # fmt: skip
                names.append(f"attached {attached.get('PolicyName', policy_arn)}")
                documents.append(_document(item.get("PolicyVersion", {}).get("Document")))
        return RolePolicies(tuple(names), tuple(documents))

    def management_account(self) -> str | None:
        client = self.factory.client("organizations", "us-east-1")
        self._count("DescribeOrganization")
        try:
            item = _asked(
                "DescribeOrganization",
                "organizations:DescribeOrganization",
                frozenset({"AWSOrganizationsNotInUseException"}),
                client.describe_organization,
            )
        except NotFound:
            return None
        master = item.get("Organization", {}).get("MasterAccountId")
        return str(master) if master else None

    def list_objects(
        self, bucket: str, region: str, prefix: str, *, delimiter: bool, start_after: str | None
    ) -> Iterator[ListPage]:
        """ListObjectsV2 pages, fetched only as the caller reads them."""
        s3 = self.factory.client("s3", region)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": LIST_PAGE}
        if delimiter:
            kwargs["Delimiter"] = "/"
        if start_after:
            kwargs["StartAfter"] = start_after
        while True:
            self._count("ListObjectsV2")
            self.listed.append((prefix, kwargs.get("StartAfter")))
            page = _asked(
                "ListObjectsV2",
                "s3:ListBucket",
                frozenset({"NoSuchBucket"}),
                partial(s3.list_objects_v2, **kwargs),
            )
            self.objects_returned += len(page.get("Contents", []))
            yield ListPage(
                objects=tuple(
                    S3Object(
                        str(o["Key"]),
                        int(o.get("Size", 0)),
                        str(o.get("StorageClass") or "STANDARD"),
                    )
                    for o in page.get("Contents", [])
                ),
                prefixes=tuple(str(p["Prefix"]) for p in page.get("CommonPrefixes", [])),
            )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token
            kwargs.pop("StartAfter", None)


def _holds_trail_events(selectors: list[dict[str, Any]]) -> bool:
    named: set[str] = set()
    for selector in selectors:
        for field in selector.get("FieldSelectors", []):
            if field.get("Field") == "eventCategory":
                named.update(field.get("Equals", []))
    return not named or bool(named & TRAIL_CATEGORIES)


def _pages(
    iam: Any, operation: str, permission: str, missing: frozenset[str], role: str
) -> Iterator[dict[str, Any]]:
    """Every page of an IAM listing of the role's policies (Marker/IsTruncated)."""
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"RoleName": role}
        if marker:
            kwargs["Marker"] = marker
        page = _asked(operation, permission, missing, partial(getattr(iam, operation), **kwargs))
        yield page
        marker = page.get("Marker")
        if not page.get("IsTruncated") or not marker:
            return


def _document(value: Any) -> Mapping[str, Any]:
    """A policy document as JSON (botocore decodes them; a raw answer is URL-encoded)."""
    if isinstance(value, str):
        value = json.loads(unquote(value))
    return value if isinstance(value, Mapping) else {}


def trust_of(arn: str, document: Any) -> RoleFacts:
    """Whether the trust policy lets CloudTrail assume the role, and for which aws:SourceArn."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = (document or {}).get("Statement", [])
    trusted = False
    sources: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow" or not _assumes(statement.get("Action")):
            continue
        principal = statement.get("Principal") or {}
        everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*")
        services = _listed(principal.get("Service")) if isinstance(principal, dict) else []
        if CLOUDTRAIL not in services and not everyone:
            continue
        trusted = True
        for operator, condition in (statement.get("Condition") or {}).items():
            if operator.removeprefix("ForAnyValue:") not in ALLOW_LISTS:
                continue  # a negative test (StringNotEquals...) names stores it refuses
            for key, value in (condition or {}).items():
                if key.lower() == "aws:sourcearn":
                    sources.extend(_listed(value))
    return RoleFacts(arn=arn, trusts_cloudtrail=trusted, source_arns=tuple(sources))


def _assumes(action: Any) -> bool:
    return any(a in ("sts:AssumeRole", "sts:*", "*") for a in _listed(action))


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
