"""How imports are echoed in responses (DOMAIN.md "Sandbox choices": the `echo` setting).

AWS's CLI example shows StartImport and GetImport echoing Destinations, S3LocationUri and the
times exactly as sent; that is the default ("exact"). "normalised" echoes them as AWS might
otherwise, so the reconciler is tested against both: the store ID for its ARN, the URI with
its trailing slash removed (or added when it had none), and EndEventTime with milliseconds
(the last millisecond of its second). Only the echo changes: the stored import, and so what
it reads, stays as sent.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.config import CONFIG

STORE_ID_MARKER = "eventdatastore/"


def echoed(result: dict[str, Any]) -> dict[str, Any]:
    """A StartImport/GetImport/StopImport result or a ListImports item, as the `echo`
    setting says to show it. `result` is a fresh dict of `LakeImport.describe`/`summary`."""
    if CONFIG.echo != "normalised":
        return result
    if "Destinations" in result:
        result["Destinations"] = [_store_id(arn) for arn in result["Destinations"]]
    s3 = result.get("ImportSource", {}).get("S3")
    if s3 and "S3LocationUri" in s3:
        s3["S3LocationUri"] = _toggle_trailing_slash(s3["S3LocationUri"])
    if "EndEventTime" in result:
        result["EndEventTime"] = result["EndEventTime"].replace(microsecond=999_000)
    return result


def _store_id(arn: str) -> str:
    return arn.split(STORE_ID_MARKER, 1)[1] if STORE_ID_MARKER in arn else arn


def _toggle_trailing_slash(uri: str) -> str:
    return uri[:-1] if uri.endswith("/") else uri + "/"
