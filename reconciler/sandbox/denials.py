"""Permissions the sandbox refuses on purpose (`denied_actions`), so a client's handling of
AccessDenied can be tried: a CI role without s3:ListBucket, a cross-account bucket, and so on.

moto enforces no IAM; this middleware answers the named read calls with AWS's own refusal
(HTTP 403 AccessDenied for S3 and IAM, AccessDeniedException for JSON services). Only the
calls preflight makes are known (config.DENIABLE); any other name is refused by the config
check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs

from reconciler.sandbox.config import CONFIG
from reconciler.sandbox.faults import WSGIApp, json_error

_S3_QUERY = {
    "list-type": "s3:ListBucket",
    "location": "s3:GetBucketLocation",
    "ownershipControls": "s3:GetBucketOwnershipControls",
}
_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    "<Message>{message}</Message></Error>"
)
_IAM_XML = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    "<Code>AccessDenied</Code><Message>{message}</Message></Error></ErrorResponse>"
)


def _service(environ: dict[str, Any]) -> str:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    for service in ("s3", "iam", "cloudtrail", "organizations", "logs"):
        if f"/{service}/aws4_request" in authorization:
            return service
    return ""


def _action(environ: dict[str, Any]) -> str | None:
    service = _service(environ)
    if service in ("cloudtrail", "organizations", "logs"):
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        return f"{service}:{operation}"
    if service == "s3" and environ.get("REQUEST_METHOD") == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return next((action for key, action in _S3_QUERY.items() if key in query), None)
    if service == "iam" and environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = BytesIO(body)  # moto reads it again
        form = parse_qs(body.decode("utf-8", "replace"))
        return f"iam:{(form.get('Action') or [''])[0]}"
    return None


class Denials:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not CONFIG.denied_actions:
            return self.app(environ, start_response)
        action = _action(environ)
        if action not in CONFIG.denied_actions:
            return self.app(environ, start_response)
        message = f"User is not authorized to perform: {action} (sandbox denied_actions)"
        service = action.split(":", 1)[0]
        if service in ("cloudtrail", "organizations", "logs"):
            return json_error(start_response, "400 Bad Request", "AccessDeniedException", message)
        payload = (_XML if service == "s3" else _IAM_XML).format(message=message).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
