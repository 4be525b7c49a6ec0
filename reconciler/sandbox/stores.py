"""Event data stores: deterministic ARNs, category from the selectors, what was ingested.

A new store may report CREATED for a while before it is usable (`store_ready_seconds`): its
status is worked out on each read from `ready_at`, so nothing runs in the background.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Fixed namespace so the same (account, Region, name) always gives the same store ARN: the
# committed example manifests name the seeded stores by ARN.
_ARN_NAMESPACE = uuid.UUID("6f1d3c52-2b0e-5d43-9a57-1c2e8b7a4d10")
ARN_PATTERN = re.compile(
    r"^arn:aws:cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):eventdatastore/(?P<id>[A-Za-z0-9\-]+)$"
)
DEFAULT_SELECTORS: list[dict[str, Any]] = [
    {
        "Name": "Default management events",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
    }
]
TRAIL_EVENT_CATEGORIES = frozenset({"Management", "Data", "NetworkActivity"})
DEFAULT_RETENTION_DAYS = 2557


def store_id(account: str, region: str, name: str) -> str:
    return str(uuid.uuid5(_ARN_NAMESPACE, f"{account}/{region}/{name}"))


def store_arn(account: str, region: str, name: str) -> str:
    """`arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/<uuid5 of account/region/name>`."""
    return f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{store_id(account, region, name)}"


def categories(selectors: list[dict[str, Any]]) -> set[str]:
    """The eventCategory values the selectors name (Management, Data, ConfigurationItem, ...)."""
    found: set[str] = set()
    for selector in selectors:
        for field_selector in selector.get("FieldSelectors", []):
            if field_selector.get("Field") == "eventCategory":
                found.update(field_selector.get("Equals", []))
    return found


def holds_trail_events(selectors: list[dict[str, Any]]) -> bool:
    """Imports need a store for CloudTrail events, not Config items, Insights or external."""
    named = categories(selectors)
    return not named or bool(named & TRAIL_EVENT_CATEGORIES)


@dataclass
class EventDataStore:
    arn: str
    name: str
    selectors: list[dict[str, Any]]
    retention_days: int
    multi_region: bool
    organization: bool
    termination_protection: bool
    billing_mode: str
    created: datetime
    updated: datetime
    # The status once ready; `status` reports CREATED instead until `ready_at`.
    settled_status: str = "ENABLED"
    ready_at: datetime | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    kms_key_id: str | None = None
    # eventID -> times ingested. Counts only, never the events: memory stays modest.
    ingested: Counter[str] = field(default_factory=Counter)
    # eventID -> where it came from; an export to CloudWatch reads the file again for the body.
    held: dict[str, HeldEvent] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.ready_at is not None and now_utc() < self.ready_at:
            return "CREATED"
        return self.settled_status

    @status.setter
    def status(self, value: str) -> None:
        """An explicit change (ingestion started or stopped, deletion, a test hook) wins over
        the pending CREATED period."""
        self.settled_status = value
        self.ready_at = None

    def become_ready_after(self, seconds: float) -> None:
        """Report CREATED for `seconds` from creation, then the settled status."""
        self.ready_at = self.created + timedelta(seconds=seconds) if seconds > 0 else None

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "EventDataStoreArn": self.arn,
            "Name": self.name,
            "Status": self.status,
            "AdvancedEventSelectors": copy.deepcopy(self.selectors),
            "MultiRegionEnabled": self.multi_region,
            "OrganizationEnabled": self.organization,
            "RetentionPeriod": self.retention_days,
            "TerminationProtectionEnabled": self.termination_protection,
            "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.updated,
            "BillingMode": self.billing_mode,
        }
        if self.kms_key_id:
            result["KmsKeyId"] = self.kms_key_id
        return result

    def summary(self) -> dict[str, Any]:
        """The ListEventDataStores item (fewer fields than GetEventDataStore)."""
        keys = (
            "EventDataStoreArn", "Name", "TerminationProtectionEnabled", "Status",
            "AdvancedEventSelectors", "MultiRegionEnabled", "OrganizationEnabled",
            "RetentionPeriod", "CreatedTimestamp", "UpdatedTimestamp",
        )  # fmt: skip
        full = self.describe()
        return {key: full[key] for key in keys}

    def ingest(self, events: list[HeldEvent]) -> None:
        self.ingested.update(event.event_id for event in events)
        for event in events:
            self.held.setdefault(event.event_id, event)

    def duplicate_stats(self) -> dict[str, Any]:
        repeated = [count for count in self.ingested.values() if count > 1]
        return {
            "arn": self.arn,
            "name": self.name,
            "events_ingested": sum(self.ingested.values()),
            "distinct_event_ids": len(self.ingested),
            "event_ids_ingested_more_than_once": len(repeated),
            "duplicate_events": sum(count - 1 for count in repeated),
        }


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HeldEvent:
    event_id: str
    time_ms: int  # eventTime, in the milliseconds CloudWatch Logs counts in
    bucket: str
    key: str


def retained_events(
    records: list[dict[str, Any]], ingested_at: datetime, retention_days: int, bucket: str,
    key: str,
) -> list[HeldEvent]:  # fmt: skip
    """The events a store keeps: only events within its retention period are copied."""
    oldest = ingested_at - timedelta(days=retention_days)
    kept = []
    for record in records:
        moment = _event_time(record["eventTime"])
        if moment >= oldest:
            milliseconds = int(moment.timestamp() * 1000) if moment.year < 9999 else 0
            kept.append(HeldEvent(record["eventID"], milliseconds, bucket, key))
    return kept


def _event_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # unreadable: keep it rather than drop it
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
