"""Whether the sandbox can run here: it needs moto's server, an optional extra."""

from __future__ import annotations

from reconciler.errors import UsageError


def require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"the sandbox needs moto's server, which is not installed ({exc}); install the "
            "sandbox extra: pip install 'reconcile[sandbox]' (from a clone: pip install -e "
            "'.[sandbox]')."
        ) from None
