"""NextToken and MaxResults for the Lake list operations.

Tokens are opaque to clients but simple for us: a kind and a position in an insertion-ordered
list (imports are never removed, so positions stay valid between pages).
"""

from __future__ import annotations

import base64
import binascii

from reconciler.sandbox import errors


def encode_token(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode()


def decode_token(token: str | None, kind: str) -> int:
    if not token:
        return 0
    try:
        found_kind, position = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if found_kind != kind:
            raise ValueError(found_kind)
        return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.InvalidNextToken(f"Invalid NextToken: {token}") from None


def page_size(max_results: int | None, default: int, error: type[errors.LakeError]) -> int:
    if max_results is None:
        return default
    if not 1 <= int(max_results) <= 1000:
        raise error("MaxResults must be between 1 and 1000.")
    return int(max_results)
