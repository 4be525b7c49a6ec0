"""StartImport and StopImport, with each outcome classified for apply's safety rules.

StartImport has no client token: sent twice, it starts two imports. So its client never
retries (ClientFactory.cloudtrail_start_import), and every outcome says what we know:
`started` (we have the ImportId), `refused` (AWS said no before starting anything:
AccountHasOngoingImportException, throttling, a store not usable yet), `rejected` (a request
error such as a missing bucket: nothing started, and trying again will not help), or
`unknown` (a timeout, a lost connection or a 5xx: the import may or may not exist, DESIGN.md
"Apply safety").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory
from reconciler.fields import arn_parts
from reconciler.plan.failures import STORE_NOT_USABLE

# Errors that prove the request was turned away before any work: safe to send again later.
THROTTLING = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
ONGOING_IMPORT = "AccountHasOngoingImportException"


@dataclass(frozen=True)
class StartOutcome:
    kind: str  # "started" | "refused" | "rejected" | "unknown"
    import_id: str | None = None
    status: str | None = None
    code: str | None = None
    message: str | None = None

    @property
    def throttled(self) -> bool:
        return self.kind == "refused" and self.code in THROTTLING

    def describe(self) -> str:
        if self.kind == "started":
            return f"started {self.import_id} ({self.status})"
        return f"{self.kind}: {self.code}: {self.message}"


@dataclass(frozen=True)
class StartRequest:
    """What StartImport needs: a new import (all fields) or a retry (import_id only)."""

    region: str
    account: str = ""  # whose credentials send it
    import_id: str | None = None
    destination: str | None = None
    source_uri: str | None = None
    bucket_region: str | None = None
    role_arn: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def parameters(self) -> dict[str, Any]:
        if self.import_id:
            return {"ImportId": self.import_id}
        params: dict[str, Any] = {
            "Destinations": [self.destination],
            "ImportSource": {
                "S3": {
                    "S3LocationUri": self.source_uri,
                    "S3BucketRegion": self.bucket_region,
                    "S3BucketAccessRoleArn": self.role_arn,
                }
            },
        }
        if self.start is not None:
            params["StartEventTime"] = self.start.astimezone(UTC)
        if self.end is not None:
            params["EndEventTime"] = self.end.astimezone(UTC)
        return params


def _classify_client_error(exc: Any) -> StartOutcome:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if status >= 500:
        return StartOutcome("unknown", code=code, message=f"HTTP {status}: {message}")
    if code == ONGOING_IMPORT or code in THROTTLING or code in STORE_NOT_USABLE:
        return StartOutcome("refused", code=code, message=message)
    return StartOutcome("rejected", code=code, message=message)


class LakeWriter:
    """The calls of apply that change something in AWS."""

    def __init__(self, factory: ClientFactory) -> None:
        self.factory = factory

    def start_import(self, request: StartRequest) -> StartOutcome:
        """One StartImport call, never retried here; the caller decides what comes next."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            ParamValidationError,
        )

        client = self.factory.cloudtrail_start_import(request.region)
        try:
            response = client.start_import(**request.parameters())
        except ClientError as exc:
            return _classify_client_error(exc)
        except NoCredentialsError as exc:  # refused before sending
            return StartOutcome("rejected", code="NoCredentials", message=str(exc))
        except ParamValidationError as exc:  # refused by botocore before sending
            return StartOutcome("rejected", code="ParamValidation", message=str(exc))
        except BotoCoreError as exc:
            # Timeouts and lost connections: the request may have reached AWS.
            return StartOutcome("unknown", code=type(exc).__name__, message=str(exc))
        return StartOutcome(
            "started", import_id=response["ImportId"], status=response.get("ImportStatus")
        )

    def stop_import(self, destination: str, import_id: str) -> str:
        """Stop a running import; returns its status afterwards."""
        region = arn_parts(destination)[1]
        client = self.factory.cloudtrail(region)
        response = call("StopImport", lambda: client.stop_import(ImportId=import_id))
        return str(response.get("ImportStatus", "STOPPED"))


__all__ = ["AwsCallError", "LakeWriter", "StartOutcome", "StartRequest"]
