"""The CloudWatch Logs import-task operations, added to moto's Logs request handler (the
same routing as `responses.py` for CloudTrail: moto looks up the snake-cased action as a
method of the response class, so a subclass keeps moto's log operations and adds ours)."""

from __future__ import annotations

import json
from typing import Any

from moto.logs.responses import LogsResponse

from reconciler.sandbox.exports import ExportBackend, export_backends

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

    def cancel_import_task(self) -> JsonResponse:
        task = self.exports.cancel_import_task(self._params().get("importId"))
        described = task.describe()
        keys = ("importId", "importStatistics", "importStatus", "creationTime", "lastUpdatedTime")
        return _json({key: described[key] for key in keys})


def _json(result: dict[str, Any]) -> JsonResponse:
    return json.dumps(result, separators=(",", ":")), {"Content-Type": "application/x-amz-json-1.1"}


def install() -> None:
    """Route Logs requests to `ExportResponse`; before the server's first Logs request."""
    from moto.logs import urls

    urls.url_paths["{0}/$"] = ExportResponse.dispatch
