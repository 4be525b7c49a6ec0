"""Start the sandbox: moto's server app, our CloudTrail routing, faults and hooks in front.

Bound to 127.0.0.1 only. `start_sandbox` returns a handle; the server runs in a daemon thread
of this process, so tests and the seed share moto's in-memory backends with it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass
class SandboxHandle:
    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_sandbox(
    port: int = 0,
    seed: bool = False,
    speed: float = 20.0,
    init_seconds: float = 1.0,
    latency_ms: float = 0.0,
    throttle: float = 0.0,
    lose_start_responses: float = 0.0,
    fault_seed: int | None = None,
    ongoing_scope: str = "account",
    echo: str = "exact",
    store_ready_seconds: float = 0.0,
) -> SandboxHandle:
    """Serve S3, IAM, STS, DynamoDB, CloudTrail (with Lake imports) and CloudWatch Logs (with
    import tasks from stores) on 127.0.0.1:port
    (0 picks a free port). Settings are process-wide: one sandbox per process; see
    `config.SandboxConfig` for what each one does."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from reconciler.sandbox import export_responses, responses
    from reconciler.sandbox import seed as seeding
    from reconciler.sandbox.config import CONFIG
    from reconciler.sandbox.denials import Denials
    from reconciler.sandbox.faults import FaultInjector
    from reconciler.sandbox.hooks import HookRoutes
    from reconciler.sandbox.sts_guard import StsGuard

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    responses.install()  # before the first CloudTrail request builds moto's app
    export_responses.install()  # and the first Logs request
    CONFIG.update(
        {
            "speed": speed, "init_seconds": init_seconds, "latency_ms": latency_ms,
            "throttle": throttle, "lose_start_responses": lose_start_responses,
            "fault_seed": fault_seed, "ongoing_scope": ongoing_scope, "echo": echo,
            "store_ready_seconds": store_ready_seconds,
        }
    )  # fmt: skip
    if seed:
        seeding.seed()
    faults = FaultInjector(Denials(StsGuard(DomainDispatcherApplication(create_backend_app))))
    try:
        server = make_server(LOOPBACK, port, HookRoutes(faults, faults), threaded=True)
    except SystemExit:  # werkzeug prints its own hint and exits when the port is taken
        raise OSError(f"port {port} on {LOOPBACK} is in use") from None
    thread = threading.Thread(target=server.serve_forever, name="reconcile-sandbox", daemon=True)
    thread.start()
    return SandboxHandle(LOOPBACK, server.server_port, server, thread)
