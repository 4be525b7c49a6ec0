"""Crash points for the crash tests: `RECONCILE_CRASH_AT=NAME[:N]` kills this process with
SIGKILL the Nth time (default 1st) it passes the point NAME.

Apply must survive a crash at any moment; these make the dangerous moments reachable on
purpose (before StartImport, after it but before the state write, in the middle of a state
write, while waiting). Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_passed: dict[str, int] = {}
_lock = threading.Lock()


def crash_point_wanted(name: str) -> bool:
    """Whether RECONCILE_CRASH_AT names this point (to stage a torn write before it)."""
    wanted = os.environ.get("RECONCILE_CRASH_AT")
    return wanted is not None and wanted.partition(":")[0] == name


def crash_point(name: str) -> None:
    wanted = os.environ.get("RECONCILE_CRASH_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    with _lock:
        _passed[name] = _passed.get(name, 0) + 1
        if _passed[name] >= int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
