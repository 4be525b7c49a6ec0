"""`reconcile demo`: the whole job in a minute, against a sandbox started in this process.

Each step runs the real command (in this process, through the same entry point as the shell)
and shows its real output: validate, plan, apply --wait, plan again (in sync), then a source
file goes bad, an import fails, the plan proposes a retry, the file is fixed, apply retries
it to COMPLETED, and status shows the end; last, the store's events are exported to
CloudWatch Logs (S3 -> Lake -> CloudWatch). The sandbox stops when the demo ends, whatever
happens; nothing is left running.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from reconciler.cli.app import execute
from reconciler.cli.options import FiniteFloat
from reconciler.errors import ExitCode, ReconcileError

RETRY_ENTRY = "demo-west-copy-2026-01-07"
# A log file in the range of RETRY_ENTRY, in the seeded single-account trail.
BAD_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/07/"
    "123456789012_CloudTrail_us-east-1_20260107T1210Z_DEMOBADFILE00001.json.gz"
)


def _manifests(folder: Path) -> None:
    """The example manifests, written from the seeded names (they work on any install)."""
    from reconciler.sandbox import seed

    source = f"{{bucket_region: {seed.BUCKET_REGION}, role_arn: '{seed.ROLE_ARN}'}}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "single-account.yaml").write_text(
        "# Copy a single-account trail into a management-events store, one day per import.\n"
        "version: 1\n"
        "defaults:\n"
        f"  destination: {seed.MANAGEMENT_STORE_ARN}\n"
        f"  source: {source}\n"
        "imports:\n"
        + "".join(
            f"  - name: demo-account-2026-01-0{day}\n"
            f"    source: {{uri: '{seed.SINGLE_ACCOUNT_URI}'}}\n"
            f"    start_event_time: 2026-01-0{day}T00:00:00Z\n"
            f"    end_event_time: 2026-01-0{day}T23:59:59Z\n"
            for day in (5, 6, 7)
        )
    )
    (folder / "organization.yaml").write_text(
        "# An organization trail copied into a store in another Region.\n"
        "version: 1\n"
        "imports:\n"
        "  - name: demo-organization-first-days\n"
        f"    destination: {seed.WEST_STORE_ARN}\n"
        f"    source: {{uri: '{seed.ORGANIZATION_URI}', bucket_region: {seed.BUCKET_REGION}, "
        f"role_arn: '{seed.ROLE_ARN}'}}\n"
        "    start_event_time: 2026-01-05T00:00:00Z\n"
        "    end_event_time: 2026-01-06T23:59:59Z\n"
    )


def _retry_manifest(folder: Path) -> None:
    from reconciler.sandbox import seed

    (folder / "late-addition.yaml").write_text(
        "# Added later: the account's last day, also into the west store.\n"
        "version: 1\n"
        "imports:\n"
        f"  - name: {RETRY_ENTRY}\n"
        f"    destination: {seed.WEST_STORE_ARN}\n"
        f"    source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: {seed.BUCKET_REGION}, "
        f"role_arn: '{seed.ROLE_ARN}'}}\n"
        "    start_event_time: 2026-01-07T00:00:00Z\n"
        "    end_event_time: 2026-01-07T23:59:59Z\n"
        "    retry: {max_attempts: 3}\n"
    )


class Demo:
    def __init__(self, workdir: Path, endpoint: str, color: bool) -> None:
        self.workdir = workdir
        self.endpoint = endpoint
        self.color = color
        self.manifests = workdir / "manifests"
        self.state = workdir / "state.json"
        self.step_number = 0

    def say(self, text: str) -> None:
        self.step_number += 1
        click.echo()
        click.secho(f"── {self.step_number}. {text}", bold=True, color=self.color)

    def run(self, *args: str, expect: tuple[int, ...] = (0,), offline: bool = False) -> int:
        shown = " ".join(["reconcile", *args])
        click.secho(f"$ {shown}", fg="cyan", color=self.color)
        sys.stdout.flush()
        extra = [] if offline else ["--endpoint-url", self.endpoint, "--state", str(self.state)]
        code = execute([*args, *extra, "--color", "on" if self.color else "off"])
        if code not in expect:
            raise ReconcileError(f"the demo step `{shown}` exited {code}, expected {expect}.")
        return code

    def put_log_file(self, body: bytes) -> None:
        from reconciler.sandbox.worlds import put_object

        put_object(self.endpoint, "reconcile-demo-trail", BAD_KEY, body)

    def wait_for_status(self, status: str, timeout: float = 30) -> None:
        from reconciler.aws.accounts import Connections
        from reconciler.sandbox import seed
        from reconciler.state.local import LocalStateStore

        reader = Connections(region="us-west-2", endpoint_url=self.endpoint).reader(seed.ACCOUNT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = LocalStateStore(self.state).read().imports.get(RETRY_ENTRY)
            started = record.import_id if record else None
            seen = reader.get_import("us-west-2", started) if started else None
            if seen is not None and seen.status == status:
                return
            time.sleep(0.2)
        raise ReconcileError(f"the demo's import did not reach {status} in {timeout:.0f} s.")

    def wait_for_export(self, timeout: float = 30) -> int:
        """Events copied, once the demo's export task completed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, copied = _exported_events(self.endpoint)
            if status == "COMPLETED":
                return copied
            time.sleep(0.2)
        raise ReconcileError(f"the demo's export did not complete in {timeout:.0f} s.")


def _exported_events(endpoint: str) -> tuple[str | None, int]:
    """The demo export's task status and the events the sandbox copied for it."""
    import urllib.request

    from reconciler.aws.accounts import Connections
    from reconciler.sandbox import seed

    reader = Connections(region="us-east-1", endpoint_url=endpoint).exports(seed.ACCOUNT)
    tasks = reader.list_tasks("us-east-1", source=seed.MANAGEMENT_STORE_ARN)
    status = tasks[-1].status if tasks else None
    with urllib.request.urlopen(f"{endpoint}/_reconcile/stats", timeout=30) as response:
        rows = json.load(response)["log_groups"]
    return status, sum(row["events_copied"] for row in rows)


def _walk_through(demo: Demo) -> None:
    m = str(demo.manifests)
    fast = ("--poll-interval", "0.2", "--retry-backoff", "0")
    demo.say("Manifests say which trail logs go into which event data store. Check them offline:")
    demo.run("validate", m, offline=True)
    demo.say("Plan: what apply would do. One import at a time per account (AWS's limit), so "
             "some wait in a queue:")  # fmt: skip
    demo.run("plan", m, "--retry-backoff", "0")
    demo.say("Apply, waiting for the imports and starting the queued ones in turn:")
    demo.run("apply", m, "--auto-approve", "--wait", *fast)
    demo.say("Plan again: everything is imported once, so there is nothing to do "
             "(exit code 0 with --detailed-exitcode):")  # fmt: skip
    demo.run("plan", m, "--detailed-exitcode", "--retry-backoff", "0")
    demo.say(f"Someone adds an import, and one of its log files is not gzip (s3://"
             f"reconcile-demo-trail/{BAD_KEY}). Apply starts it; it fails:")  # fmt: skip
    _retry_manifest(demo.manifests)
    demo.put_log_file(b"not gzip at all")
    demo.run("apply", m, "--auto-approve", *fast)
    demo.wait_for_status("FAILED")
    demo.run("failures", RETRY_ENTRY)
    demo.say("A retry cannot fix a file that is not a trail log, so the plan asks for the fix "
             "instead of spending attempts (exit code 3: attention):")  # fmt: skip
    demo.run("plan", m, "--detailed-exitcode", "--retry-backoff", "0", expect=(3,))
    demo.say("The file is replaced with a good one; the plan with --retry shows the retry "
             "(attempt 2 of 3), which redoes only the failed file:")  # fmt: skip
    record = {
        "eventVersion": "1.09",
        "eventID": "demo-fixed-0001",
        "eventTime": "2026-01-07T12:09:00Z",
        "eventName": "GetCallerIdentity",
        "eventSource": "sts.amazonaws.com",
        "awsRegion": "us-east-1",
    }
    good = {"Records": [record]}
    demo.put_log_file(gzip.compress(json.dumps(good).encode()))
    demo.run("plan", m, "--retry", RETRY_ENTRY, "--retry-backoff", "0")
    demo.say("Apply with --retry retries the same import to COMPLETED:")
    demo.run("apply", m, "--retry", RETRY_ENTRY, "--auto-approve", "--wait", *fast)
    demo.say("Status of every managed import:")
    demo.run("status")
    demo.say("And the plan is in sync again:")
    demo.run("plan", m, "--detailed-exitcode", "--retry-backoff", "0")
    _way_out(demo, m, fast)
    click.echo(
        "\nEvery import ran exactly once (a retry resumes the same import). Try it yourself: "
        "`reconcile sandbox serve --seed --port 5555`, then in another terminal "
        "`reconcile plan manifests/examples --endpoint-url http://127.0.0.1:5555` from a clone "
        "of the repository (`reconcile demo --keep DIR` keeps this demo's manifests and state)."
    )


def _export_manifest(folder: Path) -> None:
    from reconciler.sandbox import seed

    (folder / "to-cloudwatch.yaml").write_text(
        "# The way out of CloudTrail Lake: copy the management store's events to CloudWatch.\n"
        "version: 1\n"
        "exports:\n"
        "  - name: demo-management-to-cloudwatch\n"
        f"    source: {seed.MANAGEMENT_STORE_ARN}\n"
        f"    role_arn: {seed.ROLE_ARN}\n"
        "    start_event_time: 2026-01-05T00:00:00Z\n"
        "    end_event_time: 2026-01-07T23:59:59.999Z\n"
    )


def _way_out(demo: Demo, m: str, fast: tuple[str, ...]) -> None:
    """S3 -> Lake -> CloudWatch: the store's events exported once, by the same engine."""
    demo.say("The way out: CloudTrail Lake closed to new customers, and AWS points to "
             "CloudWatch. An export copies the store's events into a CloudWatch Logs group "
             "(a CreateImportTask; planned, guarded and adopted like an import):")  # fmt: skip
    _export_manifest(demo.manifests)
    demo.run("plan", m, "--retry-backoff", "0")
    demo.run("apply", m, "--auto-approve", *fast)
    copied = demo.wait_for_export()
    demo.say(f"The task completed: {copied:,} events in the log group AWS names after the "
             "store, each copied once. The plan is in sync (the export is noop):")  # fmt: skip
    demo.run("plan", m, "--detailed-exitcode", "--retry-backoff", "0")


@contextmanager
def _workdir(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep)
        if path.exists() and any(path.iterdir()):
            raise ReconcileError(f"--keep {keep}: the folder is not empty; give a new one.")
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="reconcile-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@click.command()
@click.option(
    "--speed", type=FiniteFloat(1, 1e6), default=250, show_default=True,
    help="Sandbox import speed in files per second.",
)  # fmt: skip
@click.option("--keep", metavar="DIR", help="Keep the demo's manifests and state in DIR.")
@click.option("--color", type=click.Choice(["on", "off", "auto"]), default="auto")
def demo(speed: float, keep: str | None, color: str) -> ExitCode:
    """Show the whole job in under a minute, with no AWS account.

    Starts a local CloudTrail Lake (the sandbox) inside this process, seeds it with a trail
    bucket, a role and event data stores, and runs the real commands against it: validate,
    plan, apply --wait, plan again, then a failing import retried to COMPLETED, and last an
    export of a store's events to CloudWatch Logs. Nothing is left running afterwards.

    \b
    Examples:
      reconcile demo
      reconcile demo --keep ./demo   # look at the manifests and state afterwards
    """
    from reconciler.cli.sandbox_cmds import require_sandbox

    require_sandbox()
    from reconciler.sandbox.server import start_sandbox

    use_color = color == "on" or (color == "auto" and sys.stdout.isatty())
    began = time.monotonic()
    handle = start_sandbox(port=0, seed=True, speed=speed, init_seconds=0.2)
    try:
        with _workdir(keep) as workdir:
            click.echo(f"Sandbox CloudTrail Lake at {handle.endpoint_url}; working in {workdir}")
            _manifests(workdir / "manifests")
            _walk_through(Demo(workdir, handle.endpoint_url, use_color))
    finally:
        handle.stop()
    click.echo(f"\nDemo finished in {time.monotonic() - began:.0f} s; the sandbox has stopped.")
    return ExitCode.OK
