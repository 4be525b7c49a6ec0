"""CloudTrail Lake import calls, turned into plain data and our own exceptions.

`LakeReader` is what plan uses (ListImports, GetImport, ListImportFailures: read only, with
botocore's standard retries). Everything returned is a plain value from `reconciler.observed`
or `reconciler.plan.types`, so the core never sees a boto3 response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from reconciler.aws.session import ClientFactory
from reconciler.errors import CloudError
from reconciler.observed import Failure, ObservedImport

T = TypeVar("T")
LIST_PAGE_SIZE = 1000  # the API's maximum: 10,000 imports in 10 calls


class AwsCallError(CloudError):
    """An AWS call failed; `code` is the AWS error code (e.g. ThrottlingException)."""

    def __init__(self, message: str, *, code: str, operation: str) -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation


def call(operation: str, function: Callable[[], T]) -> T:
    """Run one boto3 call, turning botocore's exceptions into ours with a useful message."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        return function()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")).strip()
        raise AwsCallError(
            f"{operation} failed: {code}: {message}", code=code, operation=operation
        ) from None
    except NoCredentialsError:
        raise AwsCallError(
            f"{operation} failed: no AWS credentials found. Configure a profile (--profile or "
            "AWS_PROFILE) or environment credentials; against the sandbox pass "
            "--endpoint-url http://127.0.0.1:PORT.",
            code="NoCredentials",
            operation=operation,
        ) from None
    except EndpointConnectionError as exc:
        raise AwsCallError(
            f"{operation} failed: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}. "
            "Check --endpoint-url and that the service (or `reconcile sandbox serve`) is running.",
            code="EndpointConnectionError",
            operation=operation,
        ) from None
    except NoRegionError:
        raise AwsCallError(
            f"{operation} failed: no Region given; pass --region or set AWS_REGION.",
            code="NoRegion",
            operation=operation,
        ) from None
    except BotoCoreError as exc:
        raise AwsCallError(
            f"{operation} failed: {exc}", code=type(exc).__name__, operation=operation
        ) from None


def _utc(value: Any) -> datetime | None:
    """A botocore timestamp, or the epoch seconds of a ListImports item read raw (fastparse)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _first(values: Any) -> str | None:
    return str(values[0]) if values else None


class LakeReader:
    """Read calls of one account; clients per Region come from the run's factory."""

    def __init__(self, factory: ClientFactory, account: str) -> None:
        self.factory = factory
        self.account = account
        self.calls: dict[str, int] = {}  # operation -> count, for benchmarks and tests

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def list_imports(self, region: str, destination: str | None = None) -> list[ObservedImport]:
        """Every import in the Region (or into one store), without details (ListImports
        holds none)."""
        client = self.factory.cloudtrail(region)
        found: list[ObservedImport] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MaxResults": LIST_PAGE_SIZE}
            if destination is not None:
                kwargs["Destination"] = destination
            if token:
                kwargs["NextToken"] = token
            self._count("ListImports")
            page = call("ListImports", partial(client.list_imports, **kwargs))
            found.extend(self._observed(item, region) for item in page.get("Imports", []))
            token = page.get("NextToken")
            if not token:
                return found

    def _observed(self, item: dict[str, Any], region: str, **details: Any) -> ObservedImport:
        """The fields ListImports and GetImport share; `details` adds GetImport's."""
        return ObservedImport(
            import_id=item["ImportId"],
            status=item.get("ImportStatus", "UNKNOWN"),
            account=self.account,
            region=region,
            destination=_first(item.get("Destinations")),
            created=_utc(item.get("CreatedTimestamp")),
            updated=_utc(item.get("UpdatedTimestamp")),
            **details,
        )

    def get_import(self, region: str, import_id: str) -> ObservedImport:
        client = self.factory.cloudtrail(region)
        self._count("GetImport")
        item = call("GetImport", partial(client.get_import, ImportId=import_id))
        s3 = item.get("ImportSource", {}).get("S3", {})
        return self._observed(
            item,
            region,
            detailed=True,
            source_uri=s3.get("S3LocationUri"),
            start=_utc(item.get("StartEventTime")),
            end=_utc(item.get("EndEventTime")),
            bucket_region=s3.get("S3BucketRegion"),
            role_arn=s3.get("S3BucketAccessRoleArn"),
            statistics={str(k): int(v) for k, v in item.get("ImportStatistics", {}).items()},
        )

    def list_failures(self, region: str, import_id: str, limit: int | None = None) -> list[Failure]:
        """Failures of an import: the first `limit` (one call), or every page."""
        return list(self._failures(region, import_id, limit))

    def _failures(self, region: str, import_id: str, limit: int | None) -> Iterator[Failure]:
        client = self.factory.cloudtrail(region)
        token: str | None = None
        returned = 0
        while True:
            kwargs: dict[str, Any] = {"ImportId": import_id, "MaxResults": min(limit or 1000, 1000)}
            if token:
                kwargs["NextToken"] = token
            self._count("ListImportFailures")
            page = call("ListImportFailures", partial(client.list_import_failures, **kwargs))
            for item in page.get("Failures", []):
                updated = _utc(item.get("LastUpdatedTime"))
                yield Failure(
                    location=str(item.get("Location", "")),
                    status=str(item.get("Status", "")),
                    error_type=str(item.get("ErrorType", "")),
                    error_message=str(item.get("ErrorMessage", "")),
                    last_updated=updated.strftime("%Y-%m-%dT%H:%M:%SZ") if updated else None,
                )
                returned += 1
                if limit is not None and returned >= limit:
                    return
            token = page.get("NextToken")
            if not token:
                return
