"""Ready-made worlds for tests and benchmarks: many finished imports, their manifest and state.

`managed_world` bulk-inserts COMPLETED imports through the sandbox's test hook and writes a
manifest with one entry per import and a state whose records hold them as final, as after
many applies, without running thousands of imports.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reconciler.sandbox import seed
from reconciler.spec import Identity
from reconciler.state import ImportRecord, StateDocument
from reconciler.statestore_local import LocalStateStore

FIRST_DAY = datetime(2000, 1, 1, tzinfo=UTC)


def hook(endpoint_url: str, name: str, body: dict[str, Any]) -> Any:
    """POST a JSON body to the sandbox's /_reconcile/NAME hook."""
    request = urllib.request.Request(
        f"{endpoint_url}/_reconcile/{name}", data=json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def _day(index: int) -> tuple[datetime, datetime]:
    start = FIRST_DAY + timedelta(days=index)
    return start, start + timedelta(hours=23, minutes=59, seconds=59)


def managed_world(endpoint_url: str, folder: Path, count: int) -> tuple[str, str]:
    """(manifest directory, state path) for `count` managed COMPLETED imports, one day each."""
    store = seed.MANAGEMENT_STORE_ARN
    ids = hook(endpoint_url, "bulk-imports", {"count": count, "destination": store})["ImportIds"]
    manifest = folder / f"manifests-{count}" / "many.yaml"
    manifest.parent.mkdir(parents=True)
    lines = [
        "version: 1",
        "defaults:",
        f"  destination: {store}",
        f"  source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: {seed.BUCKET_REGION}, "
        f"role_arn: '{seed.ROLE_ARN}'}}",
        "imports:",
    ]
    records = {}
    for index, import_id in enumerate(ids):
        start, end = _day(index)
        name = f"day-{index:05d}"
        lines.append(
            f"  - {{name: {name}, start_event_time: '{start:%Y-%m-%dT%H:%M:%SZ}', "
            f"end_event_time: '{end:%Y-%m-%dT%H:%M:%SZ}'}}"
        )
        records[name] = ImportRecord(
            name=name,
            manifest_file=str(manifest),
            identity=Identity(store, seed.SINGLE_ACCOUNT_URI, start, end),
            bucket_region=seed.BUCKET_REGION,
            role_arn=seed.ROLE_ARN,
            max_attempts=3,
            retry_stopped=False,
            spec_hash="",
            import_id=str(import_id),
            status="COMPLETED",
            statistics={"FilesCompleted": 1, "EventsCompleted": 10},
            final=True,
        )
    manifest.write_text("\n".join(lines) + "\n")
    state_path = folder / f"state-{count}.json"
    store_file = LocalStateStore(state_path)
    with store_file.lock("managed_world"):
        store_file.write(StateDocument.empty().with_records(MappingProxyType(records)))
    return str(manifest.parent), str(state_path)
