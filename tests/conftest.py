"""Shared fixtures. One in-process sandbox serves the whole test session.

Fixtures for other test files:
- `sandbox` (session): the running sandbox, a `SandboxClient` with `.endpoint_url`,
  `.config(...)`, `.reset(seed=...)`, `.bulk_imports(...)`, `.stats()`, `.client(service)`.
  The server is started seeded, at a fast import speed (see `FAST`).
- `clean_sandbox` (function): resets every moto backend, seeds again and restores `FAST`
  settings; use it when a test needs the seeded world and nothing else.
- `aws_env` (session, autouse): dummy credentials, no real AWS config files, no endpoint or
  profile from the environment, so no test can reach AWS.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

# Settings every test starts from: imports finish almost at once, no faults.
FAST: dict[str, Any] = {
    "speed": 2000.0,
    "init_seconds": 0.0,
    "latency_ms": 0.0,
    "throttle": 0.0,
    "lose_start_responses": 0.0,
    "fault_seed": 0,
    "ongoing_scope": "account",
    "echo": "exact",
    "store_ready_seconds": 0.0,
}
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/reconcile-tests/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/reconcile-tests/credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_AWS_ENV_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION")


@pytest.fixture(scope="session", autouse=True)
def aws_env() -> Iterator[None]:
    saved = dict(os.environ)
    for name in _AWS_ENV_REMOVED:
        os.environ.pop(name, None)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            del os.environ[name]
    os.environ.update(_AWS_ENV)
    yield
    os.environ.clear()
    os.environ.update(saved)


class SandboxClient:
    """Talks to the session's sandbox: boto3 clients and the /_reconcile/ hooks."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._session: Any = None
        self._clients: dict[tuple[str, str, int], Any] = {}

    def hook(self, name: str, body: dict[str, Any] | None = None) -> Any:
        """GET /_reconcile/NAME, or POST it with a JSON body."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint_url}/_reconcile/{name}", data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def config(self, **changes: Any) -> dict[str, Any]:
        return dict(self.hook("config", changes))

    def reset(self, seed: bool = True) -> None:
        self.hook("reset", {"seed": seed})
        self.config(**FAST, flaky_keys=[], denied_actions=[], export_failing_days=[],
                    export_batch_seconds=0.0, export_kms_denied=False)  # fmt: skip

    def bulk_imports(self, count: int, destination: str, **fields: Any) -> list[str]:
        result = self.hook("bulk-imports", {"count": count, "destination": destination, **fields})
        return list(result["ImportIds"])

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per store ARN: events_ingested, event_ids_ingested_more_than_once, ..."""
        return {row["arn"]: row for row in self.hook("stats")["stores"]}

    def client(self, service: str, region: str = "us-east-1", max_attempts: int = 1) -> Any:
        """A cached boto3 client on the sandbox; by default one attempt, no retries."""
        import boto3
        from botocore.config import Config

        key = (service, region, max_attempts)
        if key not in self._clients:
            if self._session is None:
                self._session = boto3.Session()
            # total_max_attempts includes the first call (botocore's max_attempts does not)
            config = Config(retries={"mode": "standard", "total_max_attempts": max_attempts})
            self._clients[key] = self._session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[key]


@pytest.fixture(scope="session")
def sandbox(aws_env: None) -> Iterator[SandboxClient]:
    from reconciler.sandbox.server import start_sandbox

    handle = start_sandbox(port=0, seed=True, **FAST)
    try:
        yield SandboxClient(handle.endpoint_url)
    finally:
        handle.stop()


@pytest.fixture
def clean_sandbox(sandbox: SandboxClient) -> SandboxClient:
    sandbox.reset(seed=True)
    return sandbox


SLOW_FOLDERS = ("e2e", "faults", "sandbox")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow`: a test over the wire (the sandbox's HTTP server, or a subprocess). The rest
    is pure and runs in seconds: `pytest -m "not slow"`."""
    for item in items:
        folder = item.path.parent.name
        if folder in SLOW_FOLDERS or "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
