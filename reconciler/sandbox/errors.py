"""The CloudTrail Lake error codes the sandbox answers with (DOMAIN.md, "Sandbox choices").

moto serialises a `ServiceException` into the JSON 1.1 error body (`__type`, `message`) with
HTTP 400, which botocore turns into `ClientError` with this `code`.
"""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class LakeError(ServiceException):
    """Base of the sandbox's CloudTrail errors; `code` is the AWS error code."""

    code = "InvalidParameterException"


def _error(code: str) -> type[LakeError]:
    return type(code, (LakeError,), {"code": code})


AccountHasOngoingImport = _error("AccountHasOngoingImportException")
EventDataStoreARNInvalid = _error("EventDataStoreARNInvalidException")
EventDataStoreNotFound = _error("EventDataStoreNotFoundException")
EventDataStoreAlreadyExists = _error("EventDataStoreAlreadyExistsException")
EventDataStoreMaxLimitExceeded = _error("EventDataStoreMaxLimitExceededException")
EventDataStoreHasOngoingImport = _error("EventDataStoreHasOngoingImportException")
EventDataStoreTerminationProtected = _error("EventDataStoreTerminationProtectedException")
InvalidEventDataStoreStatus = _error("InvalidEventDataStoreStatusException")
InactiveEventDataStore = _error("InactiveEventDataStoreException")
InvalidEventDataStoreCategory = _error("InvalidEventDataStoreCategoryException")
InvalidEventSelectors = _error("InvalidEventSelectorsException")
InvalidImportSource = _error("InvalidImportSourceException")
ImportNotFound = _error("ImportNotFoundException")
InvalidParameter = _error("InvalidParameterException")
InvalidNextToken = _error("InvalidNextTokenException")
InvalidMaxResults = _error("InvalidMaxResultsException")
