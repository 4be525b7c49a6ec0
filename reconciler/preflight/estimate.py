"""Size and cost of what a start would ingest (DOMAIN.md, "Money and duplicates")."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.defaults import (
    PRICE_PER_GB_EXTENDABLE_RETENTION,
    PRICE_PER_GB_FIXED_RETENTION,
    UNCOMPRESSED_RATIO,
)
from reconciler.findings import Estimate
from reconciler.ports import S3Object

GB = 2**30
_BY_BILLING_MODE = {
    "EXTENDABLE_RETENTION_PRICING": PRICE_PER_GB_EXTENDABLE_RETENTION,
    "FIXED_RETENTION_PRICING": PRICE_PER_GB_FIXED_RETENTION,
}


def price_per_gb(entry: float | None, run: float | None, billing_mode: str | None) -> float:
    """The entry's price, else the run's, else the store's billing mode's list price (unknown:
    the higher one, so a budget errs on the safe side)."""
    if entry is not None:
        return entry
    if run is not None:
        return run
    return _BY_BILLING_MODE.get(billing_mode or "", PRICE_PER_GB_FIXED_RETENTION)


def estimate(files: Sequence[S3Object], price: float, *, share: float = 1.0) -> Estimate:
    """`share` < 1 for a retry whose remaining files are known only by count: their bytes are
    taken as that share of the whole (files are of similar size within one trail)."""
    size = round(sum(item.size for item in files) * share)
    uncompressed = size * UNCOMPRESSED_RATIO
    return Estimate(
        files=round(len(files) * share),
        bytes=size,
        uncompressed_bytes=uncompressed,
        cost_usd=round(uncompressed / GB * price, 6),
    )
