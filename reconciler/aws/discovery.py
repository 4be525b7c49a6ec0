"""What `reconcile adopt` asks AWS before it writes manifests: whose credentials these are,
and what the event data stores are called (for readable entry names)."""

from __future__ import annotations

from functools import partial
from typing import Any

from reconciler.aws.lake import AwsCallError, call
from reconciler.aws.session import ClientFactory


def caller_account(factory: ClientFactory) -> str:
    """The account of the run's own credentials (imports are listed per account)."""
    sts = factory.client("sts", factory.region or "us-east-1")
    return str(call("GetCallerIdentity", sts.get_caller_identity)["Account"])


def store_names(factory: ClientFactory, region: str) -> dict[str, str]:
    """Store ARN -> name, every page; without the permission to list them, none (names are
    optional: entries then use the store ID's prefix)."""
    client = factory.cloudtrail(region)
    names: dict[str, str] = {}
    token: str | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            page = call("ListEventDataStores", partial(client.list_event_data_stores, **kwargs))
            for store in page.get("EventDataStores", []):
                if store.get("EventDataStoreArn") and store.get("Name"):
                    names[str(store["EventDataStoreArn"])] = str(store["Name"])
            token = page.get("NextToken")
            if not token:
                return names
    except AwsCallError:
        return names  # e.g. no cloudtrail:ListEventDataStores permission
