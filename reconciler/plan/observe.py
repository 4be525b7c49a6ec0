"""Observation for plan: read only, with the fewest calls.

Per account and Region: ListImports pages (1,000 imports a call), then GetImport only where the
details are not already known: never for a COMPLETED import whose final details state holds
(COMPLETED imports never change), always for the other managed imports, and for unmanaged
imports only when they import into a store that a not-yet-managed entry imports into (they
might be its import, to adopt). ListImportFailures (first page) for failed managed imports,
so the plan can show why they failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from reconciler.errors import CloudError
from reconciler.fields import arn_parts
from reconciler.observed import FINISHED, Observed, ObservedImport, Place
from reconciler.plan.desired import Desired
from reconciler.plan.overlaps import store_key
from reconciler.ports import ImportReader
from reconciler.state.document import ForeignImport, ImportRecord, StateDocument

FAILURES_SHOWN = 5


def places_of(desired: Desired, state: StateDocument) -> list[Place]:
    """Every account and Region a desired entry or an in-scope record lives in."""
    places = {(spec.account, spec.region) for spec in desired.specs}
    for record in state.imports.values():
        if desired.scope.covers_record(record):
            places.add(arn_parts(record.identity.destination))
    return sorted(places)


def _from_record(listed: ObservedImport, record: ImportRecord) -> ObservedImport:
    """A COMPLETED import whose details state already holds: no GetImport needed."""
    return replace(
        listed,
        detailed=True,
        destination=record.identity.destination,
        source_uri=record.identity.source_uri,
        start=record.identity.start,
        end=record.identity.end,
        bucket_region=record.bucket_region,
        role_arn=record.role_arn,
        statistics=record.statistics,
    )


def _adoption_destinations(desired: Desired, state: StateDocument) -> set[str]:
    """Stores (by ID: AWS may echo the ID for the ARN) that entries without a recorded import
    write to: their imports may be adoptable, and may overlap what such an entry would start."""
    wanted = set()
    for spec in desired.specs:
        record = state.imports.get(spec.name)
        if record is None or record.import_id is None or record.identity != spec.identity:
            wanted.add(store_key(spec.destination))
    return wanted


def _vanished_stores(
    desired: Desired, state: StateDocument, listed: list[ObservedImport]
) -> set[str]:
    """Stores of entries whose recorded import the listing no longer shows: a replacement
    may start there, so what the store holds must be known."""
    ids = {item.import_id for item in listed}
    return {
        store_key(spec.destination)
        for spec in desired.specs
        if (record := state.imports.get(spec.name)) is not None
        and record.import_id
        and record.import_id not in ids
    }


def _from_cache(listed: ObservedImport, known: ForeignImport) -> ObservedImport:
    """A finished import no entry manages, as apply cached it: no GetImport needed."""
    return replace(
        listed,
        detailed=True,
        source_uri=known.source_uri,
        start=known.start,
        end=known.end,
        statistics={"EventsCompleted": known.events} if known.events is not None else None,
    )


def cached(listed: ObservedImport, state: StateDocument) -> ObservedImport | None:
    """The cached details of a foreign import, while ListImports shows it unchanged."""
    known = state.foreign.get(listed.import_id)
    if known is None or known.status != listed.status:
        return None
    if _to_second(known.updated) != _to_second(listed.updated):
        return None  # retried (or stopped) since it was cached: its statistics changed
    return _from_cache(listed, known)


def _to_second(moment: datetime | None) -> datetime | None:
    """State keeps times to the second; AWS's may carry a fraction."""
    return moment.replace(microsecond=0) if moment is not None else None


def foreign_finished(observed: Observed, state: StateDocument) -> dict[str, ForeignImport]:
    """Finished, detailed imports no record knows, not yet cached as they are now: what
    apply adds to the state's `foreign_imports` (plan never writes it)."""
    managed = {
        id_
        for record in state.imports.values()
        for id_ in [record.import_id, *(a.import_id for a in record.attempts)]
        if id_
    }
    found = {}
    for seen in observed.imports.values():
        if seen.import_id in managed or not seen.detailed or seen.status not in FINISHED:
            continue
        if seen.destination is None or seen.source_uri is None:
            continue
        entry = ForeignImport(
            import_id=seen.import_id,
            destination=seen.destination,
            source_uri=seen.source_uri,
            start=seen.start,
            end=seen.end,
            status=seen.status,
            updated=seen.updated,
            events=(seen.statistics or {}).get("EventsCompleted"),
        )
        if cached(seen, state) is None:
            found[seen.import_id] = entry
    return found


def observe(
    reader_for: Callable[[str], ImportReader],
    desired: Desired,
    state: StateDocument,
    places: Iterable[Place] | None = None,
    parallelism: int = 8,
) -> Observed:
    """Observe every place; places are independent, so several are read at once (each
    account has its own API rate limits, and a run may span dozens of accounts)."""
    by_id = {record.import_id: record for record in state.imports.values() if record.import_id}
    adoptable = _adoption_destinations(desired, state)
    todo = list(places) if places is not None else places_of(desired, state)

    def read_place(place: Place) -> tuple[Place, list[ObservedImport] | str]:
        account, region = place
        try:
            reader = reader_for(account)  # may fail alone: e.g. its role cannot be assumed
            listing = reader.list_imports(region)
            stores = adoptable | _vanished_stores(desired, state, listing)
            found = [
                _details(reader, listed, by_id.get(listed.import_id), stores, state)
                for listed in listing
            ]
        except CloudError as exc:
            return place, str(exc)
        return place, found

    if len(todo) > 1 and parallelism > 1:
        with ThreadPoolExecutor(max_workers=min(parallelism, len(todo))) as pool:
            results = list(pool.map(read_place, todo))
    else:
        results = [read_place(place) for place in todo]
    imports: dict[str, ObservedImport] = {}
    listed_places: set[Place] = set()
    errors: dict[Place, str] = {}
    for place, outcome in results:
        if isinstance(outcome, str):
            errors[place] = outcome
            continue
        listed_places.add(place)
        imports.update((observed.import_id, observed) for observed in outcome)
    return Observed(
        imports=MappingProxyType(imports),
        places=frozenset(listed_places),
        errors=MappingProxyType(errors),
    )


def _details(
    reader: ImportReader,
    listed: ObservedImport,
    record: ImportRecord | None,
    adoptable: set[str],
    state: StateDocument,
) -> ObservedImport:
    if record is not None and record.final and listed.status == "COMPLETED":
        return _from_record(listed, record)
    if record is None:
        known = cached(listed, state)
        retryable = listed.status in ("FAILED", "STOPPED")
        if known is not None and not (
            retryable and store_key(listed.destination or "") in adoptable
        ):
            # A finished foreign import, described before: details for free. One an entry
            # may adopt and retry is asked again: the cache holds no role, and a retry
            # keeps the import's own.
            return known
        if store_key(listed.destination or "") not in adoptable:
            return listed  # unmanaged, and no entry could adopt it: the listing is enough
    detailed = reader.get_import(listed.region, listed.import_id)
    if record is not None and detailed.status in ("FAILED", "STOPPED"):
        failures = reader.list_failures(listed.region, listed.import_id, FAILURES_SHOWN)
        detailed = replace(detailed, failures=tuple(failures))
    return detailed


def reachable(observed: Observed) -> Observed:
    """Observed, unless no place could be listed at all: then AWS was not reached (wrong
    endpoint, no credentials), which is an error (exit 1), not something to plan around.
    When only some places fail, their entries need attention and the others proceed."""
    if observed.errors and not observed.places:
        place, message = sorted(observed.errors.items())[0]
        more = len(observed.errors) - 1
        others = f" (and {more} more account/Region{'s' if more != 1 else ''})" if more else ""
        raise CloudError(f"no import could be listed in {place[0]}/{place[1]}{others}: {message}")
    return observed
