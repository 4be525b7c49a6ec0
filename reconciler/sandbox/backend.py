"""Event data stores and imports per account and Region: the CloudTrail Lake backend.

A moto `BackendDict` keyed like every moto service, so `/moto-api/reset` clears it too. One
lock serialises all Lake calls: the server is threaded and imports advance on reads.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from moto.core.base_backend import BackendDict, BaseBackend

from reconciler.sandbox import errors, progress, reader
from reconciler.sandbox.config import CONFIG
from reconciler.sandbox.paging import decode_token, encode_token, page_size
from reconciler.sandbox.progress import FileFailed, FileResult, Ingested, LakeImport
from reconciler.sandbox.source import parse_s3_uri
from reconciler.sandbox.start_checks import check_destination, check_source, parse_time
from reconciler.sandbox.stores import (
    ARN_PATTERN,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_SELECTORS,
    EventDataStore,
    now_utc,
    retained_events,
    store_arn,
)

LOCK = threading.RLock()
MAX_STORES_PER_REGION = 10
NEW_IMPORT_FIELDS = ("Destinations", "ImportSource", "StartEventTime", "EndEventTime")

P = ParamSpec("P")
R = TypeVar("R")


def locked(method: Callable[P, R]) -> Callable[P, R]:
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with LOCK:
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def clock() -> float:
    """Wall-clock seconds; one place to change when a test needs another clock."""
    return time.time()


class LakeBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.stores: dict[str, EventDataStore] = {}
        self.imports: dict[str, LakeImport] = {}
        self.import_order: list[LakeImport] = []
        self.ongoing: set[str] = set()
        self.flaked: set[tuple[str, str]] = set()  # (ImportId, key) already failed once

    # ---- event data stores -------------------------------------------------------------

    @locked
    def create_event_data_store(
        self, params: dict[str, Any], ready_seconds: float | None = None
    ) -> EventDataStore:
        """A new store; it reports CREATED for `ready_seconds` (by default the
        `store_ready_seconds` setting) before it is usable."""
        name = params.get("Name")
        if not name:
            raise errors.InvalidParameter("Name is required.")
        if any(store.name == name for store in self.stores.values()):
            raise errors.EventDataStoreAlreadyExists(f"An event data store named {name} exists.")
        if len(self.stores) >= MAX_STORES_PER_REGION:
            raise errors.EventDataStoreMaxLimitExceeded("Too many event data stores.")
        now = now_utc()
        start_ingestion = params.get("StartIngestion", True)
        store = EventDataStore(
            arn=store_arn(self.account_id, self.region_name, name),
            name=name,
            selectors=params.get("AdvancedEventSelectors") or DEFAULT_SELECTORS,
            retention_days=int(params.get("RetentionPeriod") or DEFAULT_RETENTION_DAYS),
            multi_region=params.get("MultiRegionEnabled", True),
            organization=params.get("OrganizationEnabled", False),
            termination_protection=params.get("TerminationProtectionEnabled", True),
            billing_mode=params.get("BillingMode") or "EXTENDABLE_RETENTION_PRICING",
            created=now,
            updated=now,
            settled_status="ENABLED" if start_ingestion else "STOPPED_INGESTION",
            tags=params.get("TagsList") or [],
            kms_key_id=params.get("KmsKeyId"),
        )
        store.become_ready_after(
            CONFIG.store_ready_seconds if ready_seconds is None else ready_seconds
        )
        self.stores[store.arn] = store
        return store

    def _resolve_store(self, reference: str | None) -> EventDataStore:
        """A store by ARN or by the ID at the end of its ARN."""
        if not reference:
            raise errors.InvalidParameter("EventDataStore is required.")
        match = ARN_PATTERN.match(reference)
        if match is None:
            if "/" in reference or ":" in reference:
                raise errors.EventDataStoreARNInvalid(f"Invalid ARN: {reference}")
            for store in self.stores.values():
                if store.arn.endswith("/" + reference):
                    return store
            raise errors.EventDataStoreNotFound(f"Event data store {reference} not found.")
        if match["account"] != self.account_id:
            raise errors.EventDataStoreARNInvalid(
                f"The event data store ARN {reference} is not of account {self.account_id}."
            )
        found = self.stores.get(reference)
        if found is None:
            raise errors.EventDataStoreNotFound(f"Event data store {reference} not found.")
        return found

    @locked
    def get_event_data_store(self, reference: str | None) -> EventDataStore:
        return self._resolve_store(reference)

    @locked
    def list_event_data_stores(
        self, max_results: int | None, token: str | None
    ) -> tuple[list[EventDataStore], str | None]:
        stores = list(self.stores.values())
        start = decode_token(token, "stores")
        size = page_size(max_results, default=1000, error=errors.InvalidMaxResults)
        page = stores[start : start + size]
        more = start + size < len(stores)
        return page, encode_token("stores", start + size) if more else None

    def _has_ongoing_import_into(self, arn: str) -> bool:
        self.advance_ongoing()
        return any(self.imports[i].destination == arn for i in self.ongoing)

    @locked
    def update_event_data_store(self, params: dict[str, Any]) -> EventDataStore:
        store = self._resolve_store(params.get("EventDataStore"))
        if store.status == "PENDING_DELETION":
            raise errors.InactiveEventDataStore(f"Event data store {store.arn} is inactive.")
        if self._has_ongoing_import_into(store.arn):
            raise errors.EventDataStoreHasOngoingImport(
                f"Event data store {store.arn} has an ongoing import."
            )
        name = params.get("Name")
        if name and name != store.name:
            if any(other.name == name for other in self.stores.values()):
                raise errors.EventDataStoreAlreadyExists(
                    f"An event data store named {name} exists."
                )
            store.name = name  # the ARN keeps its ID, as in AWS
        if params.get("AdvancedEventSelectors"):
            store.selectors = params["AdvancedEventSelectors"]
        if params.get("RetentionPeriod"):
            store.retention_days = int(params["RetentionPeriod"])
        for key, attribute in (
            ("MultiRegionEnabled", "multi_region"),
            ("OrganizationEnabled", "organization"),
            ("TerminationProtectionEnabled", "termination_protection"),
            ("BillingMode", "billing_mode"),
            ("KmsKeyId", "kms_key_id"),
        ):
            if params.get(key) is not None:
                setattr(store, attribute, params[key])
        store.updated = now_utc()
        return store

    @locked
    def delete_event_data_store(self, reference: str | None) -> None:
        store = self._resolve_store(reference)
        if store.status == "PENDING_DELETION":
            raise errors.InactiveEventDataStore(f"Event data store {store.arn} is inactive.")
        if store.termination_protection:
            raise errors.EventDataStoreTerminationProtected(
                f"Event data store {store.arn} has termination protection enabled."
            )
        if self._has_ongoing_import_into(store.arn):
            raise errors.EventDataStoreHasOngoingImport(
                f"Event data store {store.arn} has an ongoing import."
            )
        store.status = "PENDING_DELETION"
        store.updated = now_utc()

    @locked
    def set_ingestion(self, reference: str | None, enabled: bool) -> None:
        store = self._resolve_store(reference)
        if store.status == "PENDING_DELETION":
            raise errors.InactiveEventDataStore(f"Event data store {store.arn} is inactive.")
        if store.status == "CREATED":  # or starting ingestion would skip the CREATED period
            raise errors.InvalidEventDataStoreStatus(f"Event data store {store.arn} is CREATED.")
        store.status = "ENABLED" if enabled else "STOPPED_INGESTION"
        store.updated = now_utc()

    # ---- imports -------------------------------------------------------------------------

    def advance(self, imp: LakeImport) -> None:
        pace = progress.Pace(CONFIG.speed, CONFIG.init_seconds)
        progress.advance(imp, clock(), pace, self._list_files, self._process_file)
        if not imp.ongoing:
            self.ongoing.discard(imp.import_id)

    def advance_ongoing(self) -> None:
        for import_id in sorted(self.ongoing):
            self.advance(self.imports[import_id])

    def _list_files(self, imp: LakeImport) -> list[str]:
        return reader.list_trail_keys(self.account_id, imp.bucket, imp.prefix, imp.start, imp.end)

    def _process_file(self, imp: LakeImport, key: str, at: float) -> FileResult:
        if key in CONFIG.flaky_keys and (imp.import_id, key) not in self.flaked:
            self.flaked.add((imp.import_id, key))
            return FileFailed("InternalError", "We encountered an internal error. Try again.")
        role = imp.source["S3BucketAccessRoleArn"]
        records = reader.read_as(self.account_id, role, imp.bucket, key)
        if isinstance(records, FileFailed):
            return records
        store = self.stores.get(imp.destination)
        retention = store.retention_days if store else DEFAULT_RETENTION_DAYS
        moment = datetime.fromtimestamp(at, UTC)
        kept = retained_events(records, moment, retention, imp.bucket, key)
        if store is not None:
            store.ingest(kept)
        return Ingested(len(kept))

    def _get_import(self, import_id: str | None) -> LakeImport:
        imp = self.imports.get(import_id or "")
        if imp is None:
            raise errors.ImportNotFound(f"Import {import_id} not found.")
        return imp

    def _refuse_if_ongoing(self) -> None:
        """One ongoing import per account (`ongoing_scope` "account", across every Region
        that has a backend) or per account and Region ("region"). Imports advance only on
        reads, so each Region's are brought up to date before they count as ongoing; LOCK
        is re-entrant and already held, so reaching into the other Regions cannot deadlock."""
        account_wide = CONFIG.ongoing_scope == "account"
        lakes = list(lake_backends[self.account_id].values()) if account_wide else [self]
        for lake in sorted(lakes, key=lambda lake: lake.region_name):
            lake.advance_ongoing()
            if lake.ongoing:
                raise errors.AccountHasOngoingImport(
                    f"Import {sorted(lake.ongoing)[0]} is still in progress in account "
                    f"{self.account_id}, Region {lake.region_name}."
                )

    @locked
    def start_import(self, params: dict[str, Any]) -> LakeImport:
        import_id = params.get("ImportId")
        if import_id:
            if any(params.get(name) for name in NEW_IMPORT_FIELDS):
                raise errors.InvalidParameter(
                    "A retry takes only ImportId; do not combine it with new-import fields."
                )
            return self._retry_import(import_id)
        return self._start_new_import(params)

    def _retry_import(self, import_id: str) -> LakeImport:
        imp = self._get_import(import_id)
        self.advance(imp)
        if imp.status == progress.COMPLETED:
            raise errors.InvalidParameter(f"Import {import_id} is COMPLETED; nothing to retry.")
        if imp.ongoing:
            raise errors.AccountHasOngoingImport(f"Import {import_id} is still in progress.")
        self._refuse_if_ongoing()
        progress.begin_run(imp, clock())
        self.ongoing.add(imp.import_id)
        return imp

    def _start_new_import(self, params: dict[str, Any]) -> LakeImport:
        destinations = params.get("Destinations") or []
        s3 = (params.get("ImportSource") or {}).get("S3") or {}
        required = ("S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn")
        missing = [name for name in required if not s3.get(name)]
        if len(destinations) != 1 or missing:
            raise errors.InvalidParameter(
                "StartImport needs exactly one destination and ImportSource.S3 with "
                f"{', '.join(required)} (missing: {', '.join(missing) or 'Destinations'})."
            )
        start, end = (
            parse_time(params.get("StartEventTime")),
            parse_time(params.get("EndEventTime")),
        )
        store = check_destination(self.stores, self.account_id, self.region_name, destinations[0])
        location = check_source(self.account_id, s3)
        if start is not None and end is not None and start > end:
            raise errors.InvalidParameter("StartEventTime is after EndEventTime.")
        self._refuse_if_ongoing()
        now = clock()
        imp = LakeImport(
            import_id=str(uuid.uuid4()),
            destination=store.arn,
            source={name: s3[name] for name in required},
            bucket=location.bucket,
            prefix=location.prefix,
            start=start,
            end=end,
            created=now,
            updated=now,
            run_started=now,
        )
        self._add(imp)
        self.ongoing.add(imp.import_id)
        return imp

    def _add(self, imp: LakeImport) -> None:
        self.imports[imp.import_id] = imp
        self.import_order.append(imp)

    @locked
    def get_import(self, import_id: str | None) -> LakeImport:
        imp = self._get_import(import_id)
        self.advance(imp)
        return imp

    @locked
    def stop_import(self, import_id: str | None) -> LakeImport:
        imp = self._get_import(import_id)
        self.advance(imp)
        progress.stop(imp, clock())
        self.ongoing.discard(imp.import_id)
        return imp

    @locked
    def list_imports(
        self, destination: str | None, status: str | None, max_results: int | None,
        token: str | None,
    ) -> tuple[list[LakeImport], str | None]:  # fmt: skip
        if destination is not None and not ARN_PATTERN.match(destination):
            raise errors.EventDataStoreARNInvalid(f"Invalid ARN: {destination}")
        if status is not None and status not in progress.ALL_STATUSES:
            raise errors.InvalidParameter(f"Unknown ImportStatus {status}.")
        self.advance_ongoing()
        size = page_size(max_results, default=1000, error=errors.InvalidParameter)
        position = decode_token(token, "imports")
        page: list[LakeImport] = []
        order = self.import_order
        while position < len(order) and len(page) < size:
            imp = order[position]
            position += 1
            if destination is not None and imp.destination != destination:
                continue
            if status is not None and imp.status != status:
                continue
            page.append(imp)
        return page, encode_token("imports", position) if position < len(order) else None

    @locked
    def list_import_failures(
        self, import_id: str | None, max_results: int | None, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        imp = self._get_import(import_id)
        self.advance(imp)
        failures = list(imp.failures.values())
        size = page_size(max_results, default=1000, error=errors.InvalidParameter)
        start = decode_token(token, "failures")
        page = [failure.describe() for failure in failures[start : start + size]]
        more = start + size < len(failures)
        return page, encode_token("failures", start + size) if more else None

    # ---- test hooks ----------------------------------------------------------------------

    @locked
    def bulk_insert(
        self, count: int, destination: str, status: str, source: dict[str, str],
        start: datetime | None, end: datetime | None,
    ) -> list[str]:  # fmt: skip
        """Finished imports, inserted without running (pagination tests, benchmarks)."""
        location = parse_s3_uri(source["S3LocationUri"])
        if location is None or status in progress.ONGOING:
            raise ValueError("bulk imports need an s3:// URI and a finished status")
        now = clock()
        statistics = dict.fromkeys(
            ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted"), 0
        )
        statistics["FailedEntries"] = 0
        ids = []
        for _ in range(count):
            imp = LakeImport(
                import_id=str(uuid.uuid4()), destination=destination, source=dict(source),
                bucket=location.bucket, prefix=location.prefix, start=start, end=end,
                created=now, updated=now, status=status, files=[],
                fixed_statistics=statistics,
            )  # fmt: skip
            self._add(imp)
            ids.append(imp.import_id)
        return ids

    @locked
    def set_store_status(self, reference: str, status: str) -> None:
        self._resolve_store(reference).status = status


lake_backends: BackendDict[LakeBackend] = BackendDict(LakeBackend, "cloudtrail")
