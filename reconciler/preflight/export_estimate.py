"""What an export would copy, estimated before it starts: the events the imports that filled
its store completed within its range, at an assumed size per event, priced at CloudWatch
Logs' Infrequent Access ingestion (the class AWS's import tasks write to).

Lake keeps no byte count per store, so the count is of events, from the imports' own
statistics (EventsCompleted), shared out by how much of each import's range the export
covers; a store filled live (not by imports) shows no estimate rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from reconciler.exportspec import BYTES_PER_EVENT, ExportSpec
from reconciler.findings import Finding, Severity
from reconciler.preflight import codes

# USD per GB ingested in the Infrequent Access class (us-east-1, 2026); Standard is $0.50.
INFREQUENT_ACCESS_PER_GB = 0.25


@dataclass(frozen=True)
class FilledBy:
    """An import into a store, as far as its events go."""

    destination: str
    start: datetime | None
    end: datetime | None
    events: int


def _share(export: ExportSpec, filled: FilledBy) -> float:
    """The part of the import's range the export's covers (1 when either is open-ended on
    the side that matters: counted whole rather than guessed)."""
    if filled.start is None or filled.end is None:
        return 1.0
    start = max(filled.start, export.start) if export.start else filled.start
    end = min(filled.end, export.end) if export.end else filled.end
    span = (filled.end - filled.start).total_seconds()
    if end < start:
        return 0.0
    return 1.0 if span <= 0 else min(1.0, ((end - start).total_seconds() + 1) / (span + 1))


def export_estimate(export: ExportSpec, imports: Iterable[FilledBy]) -> Finding | None:
    found = [i for i in imports if i.destination == export.source]
    if not found:
        return None
    events = round(sum(i.events * _share(export, i) for i in found))
    gigabytes = events * BYTES_PER_EVENT / 1e9
    cost = gigabytes * INFREQUENT_ACCESS_PER_GB
    return Finding(
        codes.EXPORT_ESTIMATE,
        Severity.INFO,
        f"about {events:,} events to copy (from the {len(found)} import(s) that filled the "
        f"store), about {gigabytes:,.3f} GB at {BYTES_PER_EVENT:,} bytes per event: about "
        f"${cost:,.2f} at ${INFREQUENT_ACCESS_PER_GB}/GB (Infrequent Access ingestion)",
        "An estimate: events ingested live (not by imports) are not counted.",
    )
