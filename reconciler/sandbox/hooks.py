"""Test and demo hooks under `/_reconcile/` on the sandbox port (plain JSON over HTTP).

GET  /_reconcile/stats          per store: events ingested, eventIDs ingested more than once;
                                 per log group: events exported, eventIDs exported twice
GET  /_reconcile/config         current settings (speed, init_seconds, faults, ongoing_scope,
                                 echo, store_ready_seconds: see config.SandboxConfig)
POST /_reconcile/config         {"speed": 1000, "throttle": 0.5, "fault_seed": 7,
                                 "ongoing_scope": "region", "echo": "normalised", ...}
POST /_reconcile/reset          clear every moto backend; {"seed": true} seeds again
POST /_reconcile/seed           create the seeded demo world (idempotent)
POST /_reconcile/bulk-imports   {"count", "destination", "status"?, "source"?,
                                 "start_event_time"?, "end_event_time"?} -> {"ImportIds": [...]}
POST /_reconcile/store-status   {"arn", "status"}: force a store status (e.g. CREATED)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox import seed as seeding
from reconciler.sandbox.backend import LOCK, lake_backends
from reconciler.sandbox.config import CONFIG
from reconciler.sandbox.exports import log_group_stats
from reconciler.sandbox.faults import FaultInjector, WSGIApp
from reconciler.sandbox.start_checks import parse_time
from reconciler.sandbox.stores import ARN_PATTERN

PREFIX = "/_reconcile/"


def store_stats() -> list[dict[str, Any]]:
    """Per store in every account and Region, sorted for stable output. Imports progress
    lazily, so bring the running ones up to date first."""
    rows = []
    for account, regions in list(lake_backends.items()):
        for region, lake in list(regions.items()):
            with LOCK:
                lake.advance_ongoing()
                for store in lake.stores.values():
                    rows.append({"account": account, "region": region, **store.duplicate_stats()})
    return sorted(rows, key=lambda row: (row["account"], row["region"], row["name"]))


def _bulk_imports(body: dict[str, Any]) -> dict[str, Any]:
    destination = body["destination"]
    match = ARN_PATTERN.match(destination)
    if match is None:
        raise ValueError(f"destination is not an event data store ARN: {destination}")
    source = body.get("source") or {
        "S3LocationUri": seeding.SINGLE_ACCOUNT_URI,
        "S3BucketRegion": seeding.BUCKET_REGION,
        "S3BucketAccessRoleArn": seeding.ROLE_ARN,
    }
    lake = lake_backends[match["account"]][match["region"]]
    ids = lake.bulk_insert(
        int(body["count"]), destination, body.get("status", "COMPLETED"), source,
        parse_time(body.get("start_event_time")), parse_time(body.get("end_event_time")),
    )  # fmt: skip
    return {"ImportIds": ids}


def _reset(body: dict[str, Any]) -> dict[str, Any]:
    from moto.moto_api._internal.models import moto_api_backend
    from moto.organizations.models import organizations_backends

    moto_api_backend.reset()
    organizations_backends.master_accounts.clear()  # moto's reset leaves its member map
    if body.get("seed"):
        seeding.seed()
    return {"status": "ok"}


def _seed(_body: dict[str, Any]) -> dict[str, Any]:
    seeding.seed()
    return {"status": "ok"}


def _set_store_status(body: dict[str, Any]) -> dict[str, Any]:
    match = ARN_PATTERN.match(body["arn"])
    if match is None:
        raise ValueError(f"not an event data store ARN: {body['arn']}")
    lake_backends[match["account"]][match["region"]].set_store_status(body["arn"], body["status"])
    return {"status": "ok"}


def _organization(body: dict[str, Any]) -> dict[str, Any]:
    """An organization whose management account is `management`, with `members` in it (moto
    has no call that adds an existing account; AWS's is an invitation the member accepts)."""
    from moto.organizations.models import organizations_backends

    management = str(body["management"])
    backend = organizations_backends[management]["aws"]
    if backend.org is None:
        backend.create_organization(region="us-east-1", FeatureSet="ALL")
    for member in body.get("members", []):
        organizations_backends.master_accounts[str(member)] = (management, "aws")
    org: Any = backend.org
    return {"Id": org.id, "MasterAccountId": management}


class HookRoutes:
    def __init__(self, app: WSGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    def _set_config(self, body: dict[str, Any]) -> dict[str, Any]:
        CONFIG.update(body)
        self.faults.reseed()
        return CONFIG.as_dict()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        request = Request(environ)
        posts: dict[str, Callable[[dict[str, Any]], Any]] = {
            "config": self._set_config,
            "reset": _reset,
            "seed": _seed,
            "bulk-imports": _bulk_imports,
            "store-status": _set_store_status,
            "organization": _organization,
        }
        gets: dict[str, Callable[[], Any]] = {
            "stats": lambda: {"stores": store_stats(), "log_groups": log_group_stats()},
            "config": CONFIG.as_dict,
        }
        name = path[len(PREFIX) :].strip("/")
        try:
            if request.method == "GET" and name in gets:
                result = gets[name]()
            elif request.method == "POST" and name in posts:
                result = posts[name](request.get_json(force=True, silent=True) or {})
            else:
                result, status = {"error": f"no hook {request.method} {path}"}, 404
                return _json(result, status)(environ, start_response)
        except (KeyError, TypeError, ValueError) as error:
            return _json({"error": repr(error)}, 400)(environ, start_response)
        return _json(result, 200)(environ, start_response)


def _json(document: Any, status: int) -> Response:
    return Response(json.dumps(document), status, mimetype="application/json")
