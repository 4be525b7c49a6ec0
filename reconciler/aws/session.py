"""One boto3 Session per run, and its clients cached per (service, Region, retry policy).

Read clients retry generously (botocore standard mode); the StartImport client never retries,
because StartImport has no client token: a retried call whose first response was lost would
start a second import (DESIGN.md "Apply safety"). Against a loopback endpoint (the sandbox)
with no credentials configured, dummy static credentials are used so the tool works on a
machine without AWS config; any other endpoint gets boto3's normal credential chain.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

if TYPE_CHECKING:
    import boto3

RetryPolicy = Literal["read", "start_import"]
READ_MAX_ATTEMPTS = 10
PROBE_SECONDS = 2.0  # the one connection attempt that checks an --endpoint-url first
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"  # not a secret: the sandbox accepts any key
# botocore reads a timeout of None as "the default (60 s)"; a blocking socket is a huge one.
FOREVER = 1e8


def is_loopback(endpoint_url: str | None) -> bool:
    """True for http(s)://localhost, 127.0.0.0/8 and [::1] endpoints."""
    if not endpoint_url:
        return False
    host = urlparse(endpoint_url).hostname
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClientOptions:
    """The AWS CLI's connection options: --no-verify-ssl / --ca-bundle and the timeouts.

    `verify` None keeps boto3's own choice (which honours AWS_CA_BUNDLE and the config file);
    a timeout of 0 means wait forever, as in the AWS CLI.
    """

    verify: bool | str | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None

    def config_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.connect_timeout is not None:
            kwargs["connect_timeout"] = self.connect_timeout or FOREVER
        if self.read_timeout is not None:
            kwargs["read_timeout"] = self.read_timeout or FOREVER
        return kwargs


_loader: Any = None
_loader_lock = threading.Lock()


def utc_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, quick for the epoch numbers JSON APIs send.

    botocore's own makes every number a datetime in the local zone through dateutil, which is
    60% of parsing a ListImports page (two timestamps per import); the ISO times of S3's XML
    took a third of a millisecond each through dateutil. Other text (the dates of HTTP
    headers) and numbers out of range go to botocore's parser; every result is in UTC.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    elif isinstance(value, str) and "T" in value:  # ISO 8601, as S3 lists LastModified
        try:
            iso = datetime.fromisoformat(value)  # about 1/100 of dateutil's time
        except ValueError:
            pass
        else:
            return iso.replace(tzinfo=UTC) if iso.tzinfo is None else iso.astimezone(UTC)
    from botocore.utils import parse_timestamp

    parsed: datetime = parse_timestamp(value)
    if parsed.tzinfo is None:  # AWS's times without a zone are UTC
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def new_botocore_session(profile: str | None = None) -> Any:
    """A botocore session that shares the run's data loader and parses timestamps quickly.

    Every session otherwise loads and parses the service models and endpoint data again
    (about 90 ms each); a run with twenty accounts has twenty sessions. The loader only reads
    packaged JSON and caches it, so sharing it is safe.
    """
    import botocore.loaders
    import botocore.parsers
    import botocore.session

    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", _loader)
    parsers = botocore.parsers.ResponseParserFactory()
    parsers.set_parser_defaults(timestamp_parser=utc_timestamp)
    core.register_component("response_parser_factory", parsers)
    return core


class ClientFactory:
    """Creates the run's boto3 Session lazily and hands out cached clients."""

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.profile = profile
        self.region = region
        self.endpoint_url = endpoint_url
        self.options = options or ClientOptions()
        self._session: boto3.Session | None = session  # given: e.g. an assumed role's
        self._clients: dict[tuple[str, str | None, RetryPolicy], Any] = {}
        # Building clients from one botocore session concurrently is not thread-safe.
        self._lock = threading.Lock()
        self._probed = False

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            import boto3
            from botocore.exceptions import ProfileNotFound

            try:
                core = new_botocore_session(self.profile)
                if self.profile and self.profile not in core.available_profiles:
                    raise ProfileNotFound(profile=self.profile)
                session = boto3.Session(botocore_session=core, region_name=self.region)
            except ProfileNotFound:
                from reconciler.errors import CloudError

                raise CloudError(
                    f"the AWS profile {self.profile!r} is not in the shared config or "
                    "credentials files; check --profile / AWS_PROFILE (`aws configure "
                    "list-profiles` lists them)."
                ) from None
            if is_loopback(self.endpoint_url) and session.get_credentials() is None:
                session = boto3.Session(
                    botocore_session=new_botocore_session(self.profile),
                    region_name=self.region,
                    aws_access_key_id=DUMMY_ACCESS_KEY,
                    aws_secret_access_key=DUMMY_SECRET_KEY,
                )
            self._session = session
        return self._session

    def client(self, service: str, region: str | None = None, retries: RetryPolicy = "read") -> Any:
        """A client for `service` in `region` (default: the factory's Region)."""
        from botocore.config import Config

        region = region or self.region
        key = (service, region, retries)
        with self._lock:
            if key not in self._clients:
                attempts = 1 if retries == "start_import" else READ_MAX_ATTEMPTS
                # total_max_attempts counts the first call; botocore's `max_attempts` key
                # counts only retries, so max_attempts=1 would still send StartImport twice.
                config = Config(
                    retries={"mode": "standard", "total_max_attempts": attempts},
                    **self.options.config_kwargs(),
                )
                self._clients[key] = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=config,
                    verify=self.options.verify,
                )
                if service == "cloudtrail":
                    from reconciler.aws import fastparse

                    fastparse.install(self._clients[key])
            return self._clients[key]

    def check_reachable(self) -> None:
        """An --endpoint-url that refuses connections fails now, not after botocore's ten
        attempts with backoff (about 10 s): nothing listens there, so nothing would answer.
        Asked once, before a run's first call (Connections); AWS's own endpoints are not."""
        if not self.endpoint_url or self._probed:
            return
        import socket
        from urllib.parse import urlparse

        from reconciler.errors import CloudError

        parsed = urlparse(self.endpoint_url or "")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname or "", port), timeout=PROBE_SECONDS).close()
        except ConnectionRefusedError:
            raise CloudError(
                f"cannot reach {self.endpoint_url}: the connection was refused. Check "
                "--endpoint-url and that the service (or `reconcile sandbox serve`) is running."
            ) from None
        except (OSError, ValueError):
            pass  # slow, unresolvable or odd: botocore's own timeouts and retries decide
        self._probed = True

    def cloudtrail(self, region: str | None = None) -> Any:
        """Read client for GetImport, ListImports, ListImportFailures and friends."""
        return self.client("cloudtrail", region)

    def cloudtrail_start_import(self, region: str | None = None) -> Any:
        """The client for StartImport: no retries (a lost response must not start twice)."""
        return self.client("cloudtrail", region, retries="start_import")
