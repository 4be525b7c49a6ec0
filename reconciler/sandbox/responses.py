"""The CloudTrail Lake operations, added to moto's CloudTrail request handler.

moto looks up the snake-cased action (`StartImport` -> `start_import`) as a method of the
response class, so subclassing `CloudTrailResponse` keeps moto's trail operations and adds
ours. Results are dicts shaped like botocore's output shapes (the tests check every one);
we serialise them ourselves (timestamps as epoch seconds, as the JSON 1.1 protocol does)
because moto's model-driven serialiser takes ~70 ms for a page of 1,000 imports. Errors still
go through moto: a raised `ServiceException` becomes the JSON error body with HTTP 400.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.utilities.aws_headers import gen_amzn_requestid_long

from reconciler.sandbox.backend import LakeBackend, lake_backends
from reconciler.sandbox.echo import echoed

JsonResponse = tuple[str, dict[str, str]]  # moto's (body, headers) response form


class LakeResponse(CloudTrailResponse):
    @staticmethod
    def _enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        """moto's, less its regex over the whole body for an XML <RequestId>: CloudTrail
        answers in JSON, and that search cost 3 ms per 1,000 imports listed."""
        if "status" in headers:
            headers["status"] = str(headers["status"])
        gen_amzn_requestid_long(headers)
        return headers, body

    @property
    def lake(self) -> LakeBackend:
        return lake_backends[self.current_account][self.region]

    def _params(self) -> dict[str, Any]:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        params = json.loads(body) if body else {}
        return params if isinstance(params, dict) else {}

    # ---- event data stores -------------------------------------------------------------

    def create_event_data_store(self) -> JsonResponse:
        params = self._params()
        store = self.lake.create_event_data_store(params)
        result = store.describe()
        result["TagsList"] = store.tags
        return _json(result)

    def get_event_data_store(self) -> JsonResponse:
        store = self.lake.get_event_data_store(self._params().get("EventDataStore"))
        return _json(store.describe())

    def list_event_data_stores(self) -> JsonResponse:
        params = self._params()
        stores, token = self.lake.list_event_data_stores(
            params.get("MaxResults"), params.get("NextToken")
        )
        result: dict[str, Any] = {"EventDataStores": [store.summary() for store in stores]}
        if token:
            result["NextToken"] = token
        return _json(result)

    def update_event_data_store(self) -> JsonResponse:
        return _json(self.lake.update_event_data_store(self._params()).describe())

    def delete_event_data_store(self) -> JsonResponse:
        self.lake.delete_event_data_store(self._params().get("EventDataStore"))
        return _json({})

    def start_event_data_store_ingestion(self) -> JsonResponse:
        self.lake.set_ingestion(self._params().get("EventDataStore"), enabled=True)
        return _json({})

    def stop_event_data_store_ingestion(self) -> JsonResponse:
        self.lake.set_ingestion(self._params().get("EventDataStore"), enabled=False)
        return _json({})

    # ---- imports -------------------------------------------------------------------------

    def start_import(self) -> JsonResponse:
        imp = self.lake.start_import(self._params())
        return _json(echoed(imp.describe(with_statistics=False)))

    def get_import(self) -> JsonResponse:
        return _json(echoed(self.lake.get_import(self._params().get("ImportId")).describe()))

    def stop_import(self) -> JsonResponse:
        return _json(echoed(self.lake.stop_import(self._params().get("ImportId")).describe()))

    def list_imports(self) -> JsonResponse:
        params = self._params()
        imports, token = self.lake.list_imports(
            params.get("Destination"),
            params.get("ImportStatus"),
            params.get("MaxResults"),
            params.get("NextToken"),
        )
        result: dict[str, Any] = {"Imports": [echoed(imp.summary()) for imp in imports]}
        if token:
            result["NextToken"] = token
        return _json(result)

    def list_import_failures(self) -> JsonResponse:
        params = self._params()
        failures, token = self.lake.list_import_failures(
            params.get("ImportId"), params.get("MaxResults"), params.get("NextToken")
        )
        result: dict[str, Any] = {"Failures": failures}
        if token:
            result["NextToken"] = token
        return _json(result)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _json(result: dict[str, Any]) -> JsonResponse:
    body = json.dumps(result, default=_epoch, separators=(",", ":"))
    return body, {"Content-Type": "application/x-amz-json-1.1"}


def install() -> None:
    """Route CloudTrail requests to `LakeResponse`. Must run before the server answers its
    first CloudTrail request: moto builds (and caches) each service's app on first use."""
    from moto.cloudtrail import urls

    urls.url_paths["{0}/$"] = LakeResponse.dispatch
