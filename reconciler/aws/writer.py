"""StartImport and StopImport, with each outcome classified for apply's safety rules.

StartImport has no client token: sent twice, it starts two imports. So its client never
retries (ClientFactory.cloudtrail_start_import), and every outcome says what we know:
`started` (we have the ImportId), `refused` (AWS said no before starting anything:
AccountHasOngoingImportException, throttling, a store not usable yet), `rejected` (a request
error such as a missing bucket: nothing started, and trying again will not help), or
`unknown` (a read timeout, a lost connection or a 5xx: the import may or may not exist,
DESIGN.md "Apply safety"). A connection that was never made counts as refused: nothing was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory
from reconciler.fields import arn_parts
from reconciler.outcomes import StartResult
from reconciler.plan.failures import STORE_NOT_USABLE
from reconciler.ports import ONGOING_IMPORT, THROTTLING, StartOutcome, StartRequest


def _parameters(request: StartRequest) -> dict[str, Any]:
    """The StartImport call's own shape: a retry sends only the ImportId."""
    if request.import_id:
        return {"ImportId": request.import_id}
    params: dict[str, Any] = {
        "Destinations": [request.destination],
        "ImportSource": {
            "S3": {
                "S3LocationUri": request.source_uri,
                "S3BucketRegion": request.bucket_region,
                "S3BucketAccessRoleArn": request.role_arn,
            }
        },
    }
    if request.start is not None:
        params["StartEventTime"] = request.start.astimezone(UTC)
    if request.end is not None:
        params["EndEventTime"] = request.end.astimezone(UTC)
    return params


def _classify_client_error(exc: Any) -> StartOutcome:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if status >= 500:
        return StartOutcome(StartResult.UNKNOWN, code=code, message=f"HTTP {status}: {message}")
    if code == ONGOING_IMPORT or code in THROTTLING or code in STORE_NOT_USABLE:
        return StartOutcome(StartResult.REFUSED, code=code, message=message)
    return StartOutcome(StartResult.REJECTED, code=code, message=message)


def send_once(
    send: Callable[[], dict[str, Any]], on_client_error: Callable[[Any], StartOutcome]
) -> dict[str, Any] | StartOutcome:
    """One call of an operation that must not run twice (StartImport, CreateImportTask):
    its response, or what its failure proves. `on_client_error` reads AWS's own answers."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ParamValidationError,
    )

    try:
        return send()
    except ClientError as exc:
        return on_client_error(exc)
    except NoCredentialsError as exc:  # refused before sending
        return StartOutcome(StartResult.REJECTED, code="NoCredentials", message=str(exc))
    except ParamValidationError as exc:  # refused by botocore before sending
        return StartOutcome(StartResult.REJECTED, code="ParamValidation", message=str(exc))
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        # No connection was made (refused, unresolvable, connect timeout): nothing was
        # sent, so nothing can have started; the queue need not wait out the grace window.
        return StartOutcome(StartResult.REFUSED, code=type(exc).__name__, message=str(exc))
    except BotoCoreError as exc:
        # Timeouts and lost connections: the request may have reached AWS.
        return StartOutcome(StartResult.UNKNOWN, code=type(exc).__name__, message=str(exc))


class LakeWriter:
    """The calls of apply that change something in AWS."""

    def __init__(self, factory: ClientFactory) -> None:
        self.factory = factory

    def start_import(self, request: StartRequest) -> StartOutcome:
        """One StartImport call, never retried here; the caller decides what comes next."""
        client = self.factory.cloudtrail_start_import(request.region)
        response = send_once(
            lambda: client.start_import(**_parameters(request)), _classify_client_error
        )
        if isinstance(response, StartOutcome):
            return response
        return StartOutcome(
            StartResult.STARTED, import_id=response["ImportId"], status=response.get("ImportStatus")
        )

    def stop_import(self, destination: str, import_id: str) -> str:
        """Stop a running import; returns its status afterwards."""
        region = arn_parts(destination)[1]
        client = self.factory.cloudtrail(region)
        response = call("StopImport", lambda: client.stop_import(ImportId=import_id))
        return str(response.get("ImportStatus", "STOPPED"))


__all__ = ["AwsCallError", "LakeWriter"]
