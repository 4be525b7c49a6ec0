"""Pause the cyclic garbage collector around bulk phases (loading manifests, planning).

Those phases allocate hundreds of thousands of objects that all stay alive (YAML nodes,
specs, records); each collection walks every one of them again and finds nothing to free,
which made loading 20,000 entries superlinear. Reference counting still frees what dies.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the previous setting is restored after it
    (nested pauses stay paused until the outermost ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_survivors() -> Iterator[None]:
    """Everything alive now out of the collector's sight for the block (gc.freeze): what a
    run loaded once (specs, records, observations) is then not walked again by every
    collection its later steps cause. Cycles made inside are still collected; after it, the
    frozen objects are the collector's again (a caller in the same process keeps nothing
    frozen)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
