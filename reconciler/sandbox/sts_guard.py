"""AssumeRole as AWS does it: only a role that exists in its account can be assumed.

moto hands out credentials for any role ARN, existing or not. The reconciler must report a
missing role as a clear error for that account (and go on with the others), so the sandbox
answers AssumeRole of a role its account's IAM does not hold with AccessDenied, as STS would.
A WSGI middleware in front of moto; nothing else of STS changes.

One role exists in every account: OrganizationAccountAccessRole, which AWS Organizations
creates in each member account. Setup code uses it to act in an account (worlds.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs

from reconciler.sandbox.faults import WSGIApp

ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
XML_ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>
  <RequestId>00000000-0000-0000-0000-000000000000</RequestId>
</ErrorResponse>"""


ORGANIZATION_ROLE = "OrganizationAccountAccessRole"


def role_exists(role_arn: str) -> bool:
    from moto.iam.models import iam_backends

    match = ROLE_ARN.match(role_arn)
    if match is None:
        return False
    if match["name"] == ORGANIZATION_ROLE:
        return True
    roles = iam_backends[match["account"]]["aws"].roles.values()
    return any(role.arn == role_arn for role in roles)


class StsGuard:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        is_sts = "/sts/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
        if environ.get("REQUEST_METHOD") != "POST" or not is_sts:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = BytesIO(body)  # moto reads it again
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("Action") == ["AssumeRole"]:
            role_arn = (form.get("RoleArn") or [""])[0]
            if not role_exists(role_arn):
                message = f"Not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                payload = XML_ERROR.format(message=message).encode()
                start_response(
                    "403 Forbidden",
                    [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
                )
                return [payload]
        return self.app(environ, start_response)
