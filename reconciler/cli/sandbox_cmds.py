"""`reconcile sandbox ...`: serve the local CloudTrail Lake, show what it ingested.

Only click is imported here; moto and the server load inside `serve`, so adding this group to
the main CLI costs nothing for `reconcile --help`.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from reconciler.cli.options import FiniteFloat, checked, endpoint_url


@click.group(name="sandbox")
def sandbox() -> None:
    """A local CloudTrail Lake (with imports) on moto, for demos and tests."""


def require_sandbox() -> None:
    from reconciler.sandbox.available import require_moto

    require_moto()


@sandbox.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5555,
    show_default=True,
    help="0 picks a free port.",
)
@click.option("--seed", is_flag=True, help="Create the demo bucket, role and event data stores.")
@click.option(
    "--speed",
    type=FiniteFloat(0, 1e6, low_open=True),
    default=20.0,
    show_default=True,
    help="Files per second.",
)
@click.option("--init-seconds", type=FiniteFloat(0, 3600), default=1.0, show_default=True,
              help="How long a started import stays INITIALIZING.")  # fmt: skip
@click.option("--latency", "latency_ms", type=FiniteFloat(0, 60_000), default=0.0, metavar="MS",
              help="Delay every CloudTrail call by MS milliseconds.")  # fmt: skip
@click.option("--throttle", type=FiniteFloat(0, 1), default=0.0, metavar="FRACTION",
              help="Answer this fraction of CloudTrail calls: Throttling.")  # fmt: skip
@click.option("--lose-start-responses", type=FiniteFloat(0, 1), default=0.0,
              metavar="FRACTION",
              help="Fraction of StartImport: start, then answer 500.")  # fmt: skip
@click.option("--fault-seed", type=int, default=None, envvar="RECONCILE_SANDBOX_FAULT_SEED",
              help="Seed for the fault choices (repeatable runs).")  # fmt: skip
@click.option("--ongoing-scope", type=click.Choice(["account", "region"]), default="account",
              show_default=True,
              help="One ongoing import per account (all Regions), or per account and "
                   "Region.")  # fmt: skip
@click.option("--echo", type=click.Choice(["exact", "normalised"]), default="exact",
              show_default=True,
              help="How imports echo Destinations, S3LocationUri and times: as sent "
                   "(exact), or store ID, URI slash toggled, EndEventTime at .999 s "
                   "(normalised).")  # fmt: skip
@click.option("--store-ready-seconds", type=FiniteFloat(0, 86400), default=0.0,
              show_default=True, metavar="SECONDS",
              help="A new event data store stays CREATED (imports refused) this long.")  # fmt: skip
def serve(
    port: int, seed: bool, speed: float, init_seconds: float, latency_ms: float,
    throttle: float, lose_start_responses: float, fault_seed: int | None,
    ongoing_scope: str, echo: str, store_ready_seconds: float,
) -> None:  # fmt: skip
    """Serve S3, IAM, STS, DynamoDB and CloudTrail Lake on 127.0.0.1 until interrupted.

    \b
    Examples:
      reconcile sandbox serve --seed --port 5555
      reconcile sandbox serve --seed --speed 200 --throttle 0.1   # fast, with throttling
      reconcile plan manifests/examples --endpoint-url http://127.0.0.1:5555   # elsewhere
    """
    require_sandbox()
    from reconciler.sandbox import seed as seeding
    from reconciler.sandbox.server import start_sandbox

    if speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    stop_requested = _catch_stop_signals()  # before "ready": a signal may follow at once
    try:
        handle = start_sandbox(
            port=port, seed=seed, speed=speed, init_seconds=init_seconds, latency_ms=latency_ms,
            throttle=throttle, lose_start_responses=lose_start_responses, fault_seed=fault_seed,
            ongoing_scope=ongoing_scope, echo=echo, store_ready_seconds=store_ready_seconds,
        )  # fmt: skip
    except OSError as error:  # e.g. the port is taken
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {error}") from None
    click.echo(f"Sandbox ready at {handle.endpoint_url}")
    if seed:
        click.echo("Seeded (account 123456789012):\n" + seeding.describe())
    click.echo("Press Ctrl-C to stop.")
    while not stop_requested.wait(0.5):
        pass
    handle.stop()
    click.echo("Sandbox stopped.")
    raise SystemExit(130 if stop_requested.signum == signal.SIGINT else 0)


class _StopRequest(threading.Event):
    signum: int = 0


def _catch_stop_signals() -> _StopRequest:
    """SIGINT and SIGTERM set the returned event (no KeyboardInterrupt traceback)."""
    request = _StopRequest()

    def on_signal(signum: int, _frame: Any) -> None:
        request.signum = signum
        request.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return request


@sandbox.command()
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", required=True,
              callback=checked(endpoint_url),
              help="The sandbox, e.g. http://127.0.0.1:5555.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(endpoint_url: str, as_json: bool) -> None:
    """Per event data store: events ingested and eventIDs ingested more than once.

    \b
    Examples:
      reconcile sandbox stats --endpoint-url http://127.0.0.1:5555
      reconcile sandbox stats --endpoint-url http://127.0.0.1:5555 --json
    """
    import urllib.request

    url = endpoint_url.rstrip("/") + "/_reconcile/stats"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            stores = json.load(response)["stores"]
    except OSError as error:
        raise click.ClickException(f"cannot read {url}: {error}") from None
    if as_json:
        click.echo(json.dumps({"stores": stores}, indent=2))
        return
    click.echo(f"{'EVENTS':>8} {'DUP IDS':>8} {'DUP EVENTS':>10}  REGION     NAME")
    for row in stores:
        click.echo(
            f"{row['events_ingested']:>8} {row['event_ids_ingested_more_than_once']:>8} "
            f"{row['duplicate_events']:>10}  {row['region']:<10} {row['name']}"
        )


if __name__ == "__main__":  # python -m reconciler.cli.sandbox_cmds serve --seed
    sandbox(prog_name="reconcile sandbox")
