"""Faults injected in front of moto, for CloudTrail calls and CloudWatch Logs import-task calls:
latency, throttling, and StartImport / CreateImportTask responses lost after the job started
(the fault that makes duplicates).

A WSGI middleware, so it needs nothing from moto's internals. Choices come from one seeded
`random.Random`, so a test that sets `fault_seed` sees the same sequence every run.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from reconciler.sandbox.config import CONFIG

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# botocore sends X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>
CLOUDTRAIL_TARGET = "CloudTrail_20131101."
JSON_TYPE = "application/x-amz-json-1.1"
# CloudWatch Logs import tasks take the same faults (Logs_20140328.<Op>); other Logs calls not.
LOGS_IMPORT_TASK_CALLS = (
    ".CreateImportTask", ".DescribeImportTasks", ".DescribeImportTaskBatches", ".CancelImportTask",
)  # fmt: skip
CREATES = (".StartImport", ".CreateImportTask")  # the calls whose lost answer makes duplicates


def json_error(
    start_response: Callable[..., Any], status: str, code: str, message: str
) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    start_response(
        status,
        [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))),
         ("x-amzn-ErrorType", code)],
    )  # fmt: skip
    return [body]


class FaultInjector:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._rng = random.Random(CONFIG.fault_seed)

    def reseed(self) -> None:
        with self._lock:
            self._rng = random.Random(CONFIG.fault_seed)

    def _chance(self, fraction: float) -> bool:
        if fraction <= 0:
            return False
        with self._lock:
            return self._rng.random() < fraction

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if CLOUDTRAIL_TARGET not in target and not target.endswith(LOGS_IMPORT_TASK_CALLS):
            return self.app(environ, start_response)
        if CONFIG.latency_ms > 0:
            time.sleep(CONFIG.latency_ms / 1000)
        if self._chance(CONFIG.throttle):
            return json_error(
                start_response, "400 Bad Request", "ThrottlingException", "Rate exceeded"
            )
        if target.endswith(CREATES) and self._chance(CONFIG.lose_start_responses):
            return self._lose_response(environ, start_response)
        return self.app(environ, start_response)

    def _lose_response(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """Run the call, then answer 500 if it succeeded: the import exists, unknown to callers."""
        captured: list[tuple[str, Any]] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
            captured.append((status, headers))
            return lambda _data: None

        result = self.app(environ, capture)
        body = b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
        if captured and captured[0][0].startswith("200"):
            return json_error(
                start_response, "500 Internal Server Error", "InternalFailure",
                "The sandbox lost this response on purpose (--lose-start-responses).",
            )  # fmt: skip
        status, headers = captured[0] if captured else ("500 Internal Server Error", [])
        start_response(status, headers)
        return [body]
