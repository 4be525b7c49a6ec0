"""Event data stores: deterministic ARNs, category from the selectors, what was ingested."""

from __future__ import annotations

import copy
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    status: str = "ENABLED"
    tags: list[dict[str, str]] = field(default_factory=list)
    kms_key_id: str | None = None
    # eventID -> times ingested. Counts only, never the events: memory stays modest.
    ingested: Counter[str] = field(default_factory=Counter)

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

    def ingest(self, event_ids: list[str]) -> None:
        self.ingested.update(event_ids)

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
