"""The CloudWatch Logs import-task operations, added to moto's Logs request handler (the
same routing as `responses.py` for CloudTrail: moto looks up the snake-cased action as a
method of the response class, so a subclass keeps moto's log operations and adds ours)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.logs.responses import LogsResponse

from reconciler.sandbox.exports import ExportBackend, ResourceNotFound, export_backends

JsonResponse = tuple[str, dict[str, str]]


class ExportResponse(LogsResponse):
    @property
    def exports(self) -> ExportBackend:
        return export_backends[self.current_account][self.region]

    def _params(self) -> dict[str, Any]:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        params = json.loads(body) if body else {}
        return params if isinstance(params, dict) else {}

    def create_import_task(self) -> JsonResponse:
        task = self.exports.create_import_task(self._params())
        described = task.describe()
        keys = ("importId", "importDestinationArn", "creationTime")
        return _json({key: described[key] for key in keys})

    def describe_import_tasks(self) -> JsonResponse:
        tasks, token = self.exports.describe_import_tasks(self._params())
        result: dict[str, Any] = {"imports": [task.describe() for task in tasks]}
        if token:
            result["nextToken"] = token
        return _json(result)

    def describe_import_task_batches(self) -> JsonResponse:
        task, batches, token = self.exports.describe_import_task_batches(self._params())
        result: dict[str, Any] = {
            "importSourceArn": task.source_arn,
            "importId": task.import_id,
            "importBatches": [batch.describe() for batch in batches],
        }
        if token:
            result["nextToken"] = token
        return _json(result)

    def start_query(self) -> Any:
        params = self._params()
        query = str(params.get("queryString") or "")
        if not DAILY_COUNT.search(query):
            return super().start_query()
        from moto.logs.models import logs_backends

        names = params.get("logGroupNames") or [params.get("logGroupName")]
        groups = logs_backends[self.current_account][self.region].groups
        missing = [name for name in names if name not in groups]
        if missing:
            raise ResourceNotFound(f"The specified log group does not exist: {missing[0]}")
        rows: list[list[dict[str, str]]] = []
        for name in names:
            rows += daily_counts(groups[name], int(params["startTime"]), int(params["endTime"]))
        query_id = str(uuid.uuid4())
        _QUERIES[query_id] = {"results": rows, "status": "Complete",
                              "statistics": {"recordsMatched": float(len(rows))}}  # fmt: skip
        return _json({"queryId": query_id})

    def get_query_results(self) -> Any:
        found = _QUERIES.get(str(self._params().get("queryId")))
        return _json(found) if found is not None else super().get_query_results()

    def cancel_import_task(self) -> JsonResponse:
        task = self.exports.cancel_import_task(self._params().get("importId"))
        described = task.describe()
        keys = ("importId", "importStatistics", "importStatus", "creationTime", "lastUpdatedTime")
        return _json({key: described[key] for key in keys})


# `stats count(*) ... by datefloor(@timestamp, 1d)`: the one Insights query reconcile sends
# (events held per day). moto's Insights knows no `stats`, so the sandbox answers it.
DAILY_COUNT = re.compile(r"stats\s+count\(\*\).*\bby\s+datefloor\(@timestamp,\s*1d\)", re.S)
_QUERIES: dict[str, dict[str, Any]] = {}


def daily_counts(group: Any, start_s: int, end_s: int) -> list[list[dict[str, str]]]:
    counts: dict[str, int] = {}
    for stream in group.streams.values():
        for event in stream.events:
            if start_s * 1000 <= event.timestamp <= end_s * 1000 + 999:
                moment = datetime.fromtimestamp(event.timestamp / 1000, UTC)
                day = moment.strftime("%Y-%m-%d 00:00:00.000")
                counts[day] = counts.get(day, 0) + 1
    return [
        [{"field": "day", "value": day}, {"field": "events", "value": str(counts[day])}]
        for day in sorted(counts)
    ]


def _json(result: dict[str, Any]) -> JsonResponse:
    return json.dumps(result, separators=(",", ":")), {"Content-Type": "application/x-amz-json-1.1"}


def install() -> None:
    """Route Logs requests to `ExportResponse`; before the server's first Logs request."""
    from moto.logs import urls

    urls.url_paths["{0}/$"] = ExportResponse.dispatch
