"""Drive `reconcile apply` as a subprocess against a sandbox, kill it, and check the result.

Shared by the fault tests (tests/faults/) and the bench script (bench/crash_kills.py), so it
needs nothing from pytest: only a sandbox endpoint URL. Everything it does goes through
public means: the CLI in a child process, the sandbox's `/_reconcile/` hooks, boto3 calls to
the sandbox, and the state file read (and, for the grace window, aged) through
`LocalStateStore`, the project's state API.

The checks after a run has converged (`inspect`):
- every import the example manifests desire exists exactly once in the sandbox, found by
  identity (destination, S3LocationUri, StartEventTime, EndEventTime) through ListImports +
  GetImport, and no other import exists (each scenario starts from a freshly seeded sandbox);
- no event was ingested twice (the sandbox's stats: eventIDs ingested more than once == 0);
- the state file is valid JSON that `LocalStateStore(path).read()` accepts, holding every
  desired entry COMPLETED, with the ImportId found by identity and no intent left.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = str(ROOT / "manifests" / "examples")
REGIONS = ("us-east-1", "us-west-2")

MANAGEMENT = (
    "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/90095d1e-de33-52cf-9ebc-7324c21d30aa"
)
WEST = (
    "arn:aws:cloudtrail:us-west-2:123456789012:eventdatastore/2b680e8f-d185-5d76-a4d4-45786774e02d"
)
SINGLE = "s3://reconcile-demo-trail/AWSLogs/123456789012/"
ORGANIZATION = "s3://reconcile-demo-trail/AWSLogs/o-a1b2c3d4e5/"

Identity = tuple[str, str, datetime | None, datetime | None]


def _day(day: int) -> tuple[datetime, datetime]:
    start = datetime(2026, 1, day, tzinfo=UTC)
    return start, start + timedelta(hours=23, minutes=59, seconds=59)


# What manifests/examples desire (name -> identity), as written there.
DESIRED: dict[str, Identity] = {
    "demo-account-2026-01-05": (MANAGEMENT, SINGLE, *_day(5)),
    "demo-account-2026-01-06": (MANAGEMENT, SINGLE, *_day(6)),
    "demo-account-2026-01-07": (MANAGEMENT, SINGLE, *_day(7)),
    "demo-organization-first-days": (WEST, ORGANIZATION, _day(5)[0], _day(7)[1]),
}
# Events each store holds once every desired import completed exactly once (seeded sandbox).
EXPECTED_EVENTS = {MANAGEMENT: 3 * 480, WEST: 2880}
ROLE = "arn:aws:iam::123456789012:role/reconcile-demo-import"
# A task copies a day per batch; this long per batch, so --wait polls a task a few times.
EXPORT_BATCH_SECONDS = 0.2

# Imports finish in well under a second, yet slowly enough that --wait polls a few times.
# Each import stays INITIALIZING long enough that apply's next look always sees it running,
# however loaded the machine: crash points in the wait loop are then reached a known number
# of times (one `waiting` per import at least), not by luck.
CRASH_SPEEDS: dict[str, Any] = {"speed": 1000.0, "init_seconds": 0.3}
NO_FAULTS: dict[str, Any] = {
    "latency_ms": 0.0,
    "throttle": 0.0,
    "lose_start_responses": 0.0,
    "fault_seed": 0,
}

# The planner's default grace window for an intent that never reached AWS (DESIGN.md).
GRACE = timedelta(minutes=10)
AGE_BY = GRACE + timedelta(minutes=1)

_DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/reconcile-tests/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/reconcile-tests/credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
CRASH_POINTS = (
    "before_start", "after_start", "mid_write", "mid_journal", "mid_compaction", "waiting",
)  # fmt: skip


# -- the sandbox -------------------------------------------------------------------------------


# An export the journey world desires: (source store ARN, start, end), times to the ms.
ExportIdentityKey = tuple[str, datetime, datetime]


class Lake:
    """The sandbox seen from outside: its hooks over HTTP, and boto3 clients on it; and the
    world the runs apply (`paths`: the examples' four imports, or a journey that also
    exports both stores to CloudWatch Logs: `exports`, see `journey`)."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self.paths = EXAMPLES
        self.exports: dict[str, ExportIdentityKey] = {}

    def hook(self, name: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint_url}/_reconcile/{name}", data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def config(self, **changes: Any) -> dict[str, Any]:
        return dict(self.hook("config", changes))

    def reset(self, **settings: Any) -> None:
        """A freshly seeded world, no faults, then `settings` (speed, faults, ...)."""
        self.hook("reset", {"seed": True})
        self.config(**{**NO_FAULTS, **CRASH_SPEEDS, **settings})

    def stats(self) -> dict[str, dict[str, Any]]:
        return {row["arn"]: row for row in self.hook("stats")["stores"]}

    def cloudtrail(self, region: str) -> Any:
        if region not in self._clients:
            import boto3
            from botocore.config import Config

            # The test's own reads must not be thrown off by injected throttling.
            self._clients[region] = boto3.client(
                "cloudtrail",
                region_name=region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"mode": "standard", "total_max_attempts": 30}),
            )
        return self._clients[region]

    def imports(self) -> list[dict[str, Any]]:
        """Every import in both seeded Regions, with its GetImport details."""
        found = []
        for region in REGIONS:
            client = self.cloudtrail(region)
            for page in client.get_paginator("list_imports").paginate():
                for item in page.get("Imports", []):
                    found.append(client.get_import(ImportId=item["ImportId"]))
        return found

    def identities(self) -> Counter[Identity]:
        return Counter(identity_of(found) for found in self.imports())

    def tasks(self) -> list[dict[str, Any]]:
        """Every CloudWatch Logs import task (exports) in both seeded Regions."""
        import boto3
        from botocore.config import Config

        found = []
        for region in REGIONS:
            logs = boto3.client(
                "logs", region_name=region, endpoint_url=self.endpoint_url,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(retries={"mode": "standard", "total_max_attempts": 30}),
            )  # fmt: skip
            found += logs.describe_import_tasks().get("imports", [])
        return found

    def task_identities(self) -> Counter[ExportIdentityKey]:
        return Counter(task_identity(task) for task in self.tasks())


def task_identity(task: dict[str, Any]) -> ExportIdentityKey:
    window = task.get("importFilter") or {}
    return (
        task["importSourceArn"],
        datetime.fromtimestamp(window["startEventTime"] / 1000, UTC),
        datetime.fromtimestamp(window["endEventTime"] / 1000, UTC),
    )


def journey(lake: Lake, folder: Path) -> None:
    """The examples' imports plus exports of both stores (S3 -> Lake -> CloudWatch): three
    of the management store's days and the west store's three, four tasks of one account,
    so one waits for a slot among AWS's 3 active tasks; all wait for the imports."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for source in Path(EXAMPLES).iterdir():
        shutil.copy(source, folder / source.name)
    wanted: dict[str, ExportIdentityKey] = {}
    for day in (5, 6, 7):
        start = datetime(2026, 1, day, tzinfo=UTC)
        wanted[f"cw-management-{day:02d}"] = (MANAGEMENT, start, _last_ms(start, 1))
    west = datetime(2026, 1, 5, tzinfo=UTC)
    wanted["cw-west"] = (WEST, west, _last_ms(west, 3))
    lines = ["version: 1", "exports:"]
    for name, (source, start, end) in wanted.items():
        lines.append(
            f"  - {{name: {name}, source: {source}, role_arn: '{ROLE}', start_event_time: "
            f"'{start:%Y-%m-%dT%H:%M:%SZ}', end_event_time: '{end:%Y-%m-%dT%H:%M:%S}.999Z'}}"
        )
    (folder / "exports.yaml").write_text("\n".join(lines) + "\n")
    lake.paths, lake.exports = str(folder), wanted
    lake.config(export_batch_seconds=EXPORT_BATCH_SECONDS)


def _last_ms(start: datetime, days: int) -> datetime:
    return start + timedelta(days=days) - timedelta(milliseconds=1)


def identity_of(details: dict[str, Any]) -> Identity:
    def utc(value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    return (
        details["Destinations"][0],
        details["ImportSource"]["S3"]["S3LocationUri"],
        utc(details.get("StartEventTime")),
        utc(details.get("EndEventTime")),
    )


def serve_sandbox(timeout: float = 60) -> tuple[subprocess.Popen[str], str]:
    """`reconcile sandbox serve --port 0 --seed` in a child; returns it and its endpoint."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--seed"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if "Sandbox ready at" in line:
            # Keep draining its output so the child never blocks on a full pipe.
            subprocess_drain(process)
            return process, line.split("Sandbox ready at", 1)[1].strip()
    process.kill()
    raise RuntimeError("the sandbox did not say it was ready")


def subprocess_drain(process: subprocess.Popen[str]) -> None:
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for _line in process.stdout:
            pass

    threading.Thread(target=drain, daemon=True).start()


# -- running apply -----------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this one, no crash point, CI=true, dummy AWS settings that
    can reach nothing but the endpoint given on the command line."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "RECONCILE_CRASH_AT"
        and key not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION")
        and not key.startswith("AWS_ENDPOINT_URL")
    }
    env.update(_DUMMY_AWS)
    env["CI"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Run:
    """One child process: its command line, exit code (negative: killed by that signal)."""

    what: str
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    killed_by_timer: bool = False
    pid: int = 0

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    def brief(self) -> str:
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        return f"{self.what}: rc={self.returncode} in {self.elapsed:.2f}s {' | '.join(tail)}"


def apply_command(
    endpoint: str, state: Path | str, *extra: str, paths: str = EXAMPLES
) -> list[str]:
    return [
        sys.executable, "-m", "reconciler", "apply", paths,
        "--endpoint-url", endpoint, "--state", str(state), "--auto-approve",
        "--poll-interval", "0.1", "--retry-backoff", "0", "--no-color", *extra,
    ]  # fmt: skip


def run_child(
    what: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    kill_after: float | None = None,
    anchor: Path | None = None,
    timeout: float = 120,
) -> Run:
    """Run `command`; with `kill_after`, SIGKILL it that many seconds after `anchor` exists
    (the child's first state write: its start-up time, which a loaded machine stretches, is
    not part of the delay), if it is still running."""
    began = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    by_timer = False
    try:
        if kill_after is not None and anchor is not None:
            while process.poll() is None and not anchor.exists():
                if time.monotonic() - began > timeout:
                    raise subprocess.TimeoutExpired(command, timeout)
                time.sleep(0.002)  # a poll for a file, not a guess at a moment
        if kill_after is not None:
            try:
                stdout, stderr = process.communicate(timeout=kill_after)
            except subprocess.TimeoutExpired:
                process.kill()  # SIGKILL: no handler, no cleanup, like a crash
                by_timer = True
                stdout, stderr = process.communicate(timeout=timeout)
        else:
            stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"{what} did not finish in {timeout} s:\n{stdout}\n{stderr}") from None
    return Run(
        what, process.returncode, stdout, stderr, time.monotonic() - began, by_timer, process.pid
    )


def apply(
    endpoint: str,
    state: Path | str,
    *extra: str,
    crash_at: str | None = None,
    kill_after: float | None = None,
    timeout: float = 120,
    paths: str = EXAMPLES,
) -> Run:
    env = child_env(RECONCILE_CRASH_AT=crash_at) if crash_at else child_env()
    what = "apply " + " ".join(extra)
    if crash_at:
        what += f" [RECONCILE_CRASH_AT={crash_at}]"
    if kill_after is not None:
        what += f" [SIGKILL after {kill_after:.3f}s]"
    return run_child(
        what,
        apply_command(endpoint, state, *extra, paths=paths),
        env=env,
        kill_after=kill_after,
        anchor=Path(state) if kill_after is not None else None,
        timeout=timeout,
    )


def plan_actions(
    endpoint: str, state: Path | str, paths: str = EXAMPLES
) -> dict[str, dict[str, Any]]:
    """`reconcile plan --json`: each action by name (plan never writes state)."""
    run = run_child(
        "plan --json",
        [
            sys.executable, "-m", "reconciler", "plan", paths, "--json",
            "--endpoint-url", endpoint, "--state", str(state),
        ],
    )  # fmt: skip
    assert run.returncode == 0, run.brief()
    return {action["name"]: action for action in json.loads(run.stdout)["actions"]}


# -- the grace window --------------------------------------------------------------------------


def unresolved_intents(state: Path | str) -> dict[str, Any]:
    """Records holding an intent without an ImportId (a start whose outcome is unrecorded)."""
    from reconciler.state.local import LocalStateStore

    if not Path(state).exists():
        return {}
    document = LocalStateStore(state).read()
    return {
        name: record
        for name, record in document.imports.items()
        if record.intent is not None and record.import_id is None
    }


def age_pending_intents(lake: Lake, endpoint: str, state: Path | str) -> list[str]:
    """Let the grace window pass for intents that never reached AWS, through public means.

    Plan and apply have no option to shorten the 10-minute grace window, so this moves the
    intent (and its unknown attempt) back by more than the window in the state document,
    under the state lock, exactly as if it had been written 11 minutes ago. It does so only
    for entries the plan itself shows as `pending` and whose identity no import in the
    sandbox has (so the start really never reached AWS: the process that sent it is dead).
    Returns the names aged, each with the plan's reason, for the report.
    """
    from reconciler.state.local import LocalStateStore

    candidates = unresolved_intents(state)
    waiting_exports = unresolved_export_intents(state)
    if not candidates and not waiting_exports:
        return []
    actions = plan_actions(endpoint, state, lake.paths)
    present = lake.identities()
    names = [
        name
        for name in candidates
        if actions.get(name, {}).get("action") == "pending" and present[DESIRED[name]] == 0
    ]
    tasks_present = lake.task_identities() if waiting_exports else Counter()
    export_names = [
        name
        for name in waiting_exports
        if actions.get(name, {}).get("action") == "pending"
        and tasks_present[lake.exports[name]] == 0
    ]
    if not names and not export_names:
        return []
    store = LocalStateStore(state)
    with store.lock("tests/faults: let the pending-intent grace window pass"):
        document = store.read()
        exports = dict(document.exports)
        for name in export_names:
            record = exports[name]
            assert record.intent_at is not None and record.import_id is None
            exports[name] = replace(record, intent_at=record.intent_at - AGE_BY)
        document = document.with_exports(exports)
        records = dict(document.imports)
        for name in names:
            record = records[name]
            assert record.intent is not None and record.import_id is None
            moved = record.intent.at - AGE_BY
            attempts = record.attempts
            if attempts and attempts[-1].outcome == "unknown":
                attempts = (*attempts[:-1], replace(attempts[-1], at=moved))
            records[name] = replace(
                record, intent=replace(record.intent, at=moved), attempts=attempts
            )
        store.write(document.with_records(records))
    return [f"{name}: {actions[name]['reason']}" for name in [*names, *export_names]]


def unresolved_export_intents(state: Path | str) -> dict[str, Any]:
    """Export records holding an intent without an importId."""
    from reconciler.state.local import LocalStateStore

    if not Path(state).exists():
        return {}
    document = LocalStateStore(state).read()
    return {
        name: record
        for name, record in document.exports.items()
        if record.intent_at is not None and record.import_id is None
    }


# -- converging and checking -------------------------------------------------------------------


# A record at INITIALIZING/IN_PROGRESS in state although its import COMPLETED in AWS is a
# problem (two apply bugs once caused it: `apply --wait` not waiting for an import it
# adopted, and an all-noop apply recording nothing; tests in test_fault_injection.py pin
# both). Set to True only to list such records apart while investigating a new cause.
STALE_STATE_BUG_OPEN = False


@dataclass
class Convergence:
    runs: list[Run] = field(default_factory=list)
    aged: list[str] = field(default_factory=list)  # pending intents moved past the grace window
    # Runs that exited 0 although an import of theirs was still unfinished in AWS:
    # apply --wait does not wait for an import it adopted (test_wait_waits_for_adopted_imports).
    early_exits: int = 0
    converged: bool = False

    def log(self) -> str:
        lines = [run.brief() for run in self.runs]
        lines += [f"aged past the grace window: {entry}" for entry in self.aged]
        if self.early_exits:
            lines.append(f"{self.early_exits} run(s) exited 0 with an import still unfinished")
        return "\n".join(lines)


def settled(state: Path | str, exports: Iterable[str] = ()) -> bool:
    """Every desired entry (and export) recorded COMPLETED in state, with no intent left."""
    from reconciler.state.local import LocalStateStore

    if not Path(state).exists():
        return False
    document = LocalStateStore(state).read()
    records = document.imports
    done = {name: r for name, r in document.exports.items() if r.status == "COMPLETED"}
    return all(
        name in records and records[name].status == "COMPLETED" and records[name].intent is None
        for name in DESIRED
    ) and all(name in done and done[name].intent_at is None for name in exports)


WAIT = ("--wait", "--wait-timeout", "30")


def converge(
    lake: Lake,
    state: Path | str,
    *,
    max_runs: int = 4,
    extra: tuple[str, ...] = WAIT,
    result: Convergence | None = None,
) -> Convergence:
    """Re-run apply (no crash; `--wait` unless `extra` says otherwise) until a run exits 0
    with every import recorded done in state, at most `max_runs` runs. Before each run, an
    intent that never reached AWS is let past the grace window (see `age_pending_intents`)."""
    result = result or Convergence()
    for _ in range(max_runs):
        result.aged += age_pending_intents(lake, lake.endpoint_url, state)
        run = apply(lake.endpoint_url, state, *extra, paths=lake.paths)
        result.runs.append(run)
        if run.returncode == 0:
            if settled(
                state, lake.exports
            ):  # state records every import done (AWS agrees: inspect())
                result.converged = True
                break
            if "--wait" in extra:
                result.early_exits += 1
    return result


@dataclass
class Findings:
    """What the sandbox and the state say after convergence; `problems()` is empty when safe."""

    imports_per_identity: dict[str, int]  # desired name -> imports with its identity
    other_imports: int  # imports matching no desired identity
    duplicate_event_ids: int  # sandbox: eventIDs ingested more than once, all stores
    events_ingested: dict[str, int]
    state_problems: list[str]
    stale: list[str]  # records not COMPLETED in state although COMPLETED in AWS
    export_problems: list[str] = field(default_factory=list)  # the journey's exports

    @property
    def duplicates(self) -> int:
        return sum(max(0, count - 1) for count in self.imports_per_identity.values())

    def problems(self) -> list[str]:
        found = [
            f"{name}: {count} imports with its identity (want exactly 1)"
            for name, count in sorted(self.imports_per_identity.items())
            if count != 1
        ]
        if self.other_imports:
            found.append(f"{self.other_imports} import(s) match no desired identity")
        if self.duplicate_event_ids:
            found.append(f"{self.duplicate_event_ids} eventIDs ingested more than once")
        for arn, want in EXPECTED_EVENTS.items():
            if self.events_ingested.get(arn) != want:
                found.append(f"{arn}: {self.events_ingested.get(arn)} events ingested, want {want}")
        found += self.state_problems
        if not STALE_STATE_BUG_OPEN:
            found += self.stale
        return found + self.export_problems


def state_problems(
    state: Path | str, ids_by_identity: dict[Identity, list[str]], statuses: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Why the state file is not a valid, converged state, and which records are stale."""
    from reconciler.errors import StateError
    from reconciler.state.local import LocalStateStore

    path = Path(state)
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"state {path} is not readable JSON: {exc}"], []
    try:
        document = LocalStateStore(path).read()
    except StateError as exc:
        return [f"state {path} is not a valid state: {exc}"], []
    problems, stale = [], []
    for name, identity in DESIRED.items():
        record = document.imports.get(name)
        if record is None:
            problems.append(f"state: no record for {name}")
            continue
        if record.intent is not None:
            problems.append(f"state: {name} still holds an intent ({record.intent})")
        if record.import_id not in ids_by_identity.get(identity, []):
            problems.append(f"state: {name} records {record.import_id}, not its import in AWS")
        elif record.status != "COMPLETED":
            text = f"state: {name} is {record.status}, not COMPLETED"
            if statuses.get(record.import_id) == "COMPLETED":
                stale.append(f"{text} (its import {record.import_id} COMPLETED in AWS)")
            else:
                problems.append(text)
    for name in set(document.imports) - set(DESIRED):
        problems.append(f"state: unexpected record {name}")
    return problems, stale


def inspect(lake: Lake, state: Path | str) -> Findings:
    ids_by_identity: dict[Identity, list[str]] = {}
    statuses: dict[str, str] = {}
    for details in lake.imports():
        ids_by_identity.setdefault(identity_of(details), []).append(details["ImportId"])
        statuses[details["ImportId"]] = details["ImportStatus"]
    desired = set(DESIRED.values())
    stats = lake.stats()
    problems, stale = state_problems(state, ids_by_identity, statuses)
    return Findings(
        imports_per_identity={
            name: len(ids_by_identity.get(identity, [])) for name, identity in DESIRED.items()
        },
        other_imports=sum(len(ids) for key, ids in ids_by_identity.items() if key not in desired),
        duplicate_event_ids=sum(row["event_ids_ingested_more_than_once"] for row in stats.values()),
        events_ingested={arn: row["events_ingested"] for arn, row in stats.items()},
        state_problems=problems,
        stale=stale,
        export_problems=export_problems(lake, state) if lake.exports else [],
    )


def export_problems(lake: Lake, state: Path | str) -> list[str]:
    """Exactly one task per desired export, none other; every event of each export's range
    the store holds copied to its log group exactly once; state naming each task, COMPLETED.
    Events are counted in the sandbox's own books (the in-process session sandbox)."""
    from reconciler.sandbox.backend import lake_backends
    from reconciler.state.local import LocalStateStore

    found = []
    tasks = lake.tasks()
    by_identity: dict[ExportIdentityKey, list[dict[str, Any]]] = {}
    for task in tasks:
        by_identity.setdefault(task_identity(task), []).append(task)
    for name, wanted in lake.exports.items():
        if len(by_identity.get(wanted, [])) != 1:
            found.append(f"{name}: {len(by_identity.get(wanted, []))} tasks (want exactly 1)")
    others = [t["importId"] for k, ts in by_identity.items() if k not in lake.exports.values()
              for t in ts]  # fmt: skip
    if others:
        found.append(f"{len(others)} task(s) match no desired export: {others}")
    expected: Counter[str] = Counter()
    for source, start, end in lake.exports.values():
        account, region = source.split(":")[4], source.split(":")[3]
        store = lake_backends[account][region].stores[source]
        low, high = start.timestamp() * 1000, end.timestamp() * 1000
        expected[source.rsplit("/", 1)[1]] += sum(
            low <= event.time_ms <= high for event in store.held.values()
        )
    for row in lake.hook("stats")["log_groups"]:
        store_id = row["log_group"].rsplit("/", 1)[1]
        if row["duplicate_events"]:
            found.append(f"{row['log_group']}: {row['duplicate_events']} events copied twice")
        if row["events_copied"] != expected.get(store_id):
            found.append(
                f"{row['log_group']}: {row['events_copied']} events copied, want "
                f"{expected.get(store_id)}"
            )
    records = LocalStateStore(state).read().exports
    ids = {t["importId"]: t["importStatus"] for t in tasks}
    for name in lake.exports:
        record = records.get(name)
        if record is None:
            found.append(f"state: no export record for {name}")
        elif record.intent_at is not None or ids.get(record.import_id or "") != "COMPLETED":
            found.append(f"state: {name} is {record} (its task: {ids.get(record.import_id or '')})")
    return found


# -- one crash round ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """How an apply dies: at a crash point (`NAME[:N]`), or by a timer (seconds after start)."""

    crash_at: str | None = None
    after: float | None = None

    @property
    def label(self) -> str:
        return self.crash_at or f"timer-{self.after:.3f}s"


def state_after_kill(state: Path | str) -> str | None:
    """None if the state right after a kill is absent or valid; otherwise what is wrong."""
    from reconciler.errors import StateError
    from reconciler.state.local import LocalStateStore

    if not Path(state).exists():
        return None
    try:
        LocalStateStore(state).read()
    except StateError as exc:
        return f"state invalid right after the kill: {exc}"
    return None


@dataclass
class Round:
    kills: tuple[Kill, ...]
    killed_runs: list[Run]
    convergence: Convergence
    findings: Findings | None
    invalid_after_kill: list[str]

    @property
    def label(self) -> str:
        return " then ".join(kill.label for kill in self.kills)

    @property
    def kills_done(self) -> int:
        return sum(run.killed for run in self.killed_runs)

    def problems(self) -> list[str]:
        if self.findings is None:
            return [*self.invalid_after_kill, "apply did not converge"]
        return [*self.invalid_after_kill, *self.findings.problems()]

    def report(self) -> str:
        return "\n".join(
            [
                f"round {self.label}: {self.kills_done} of {len(self.kills)} kill(s) happened",
                *(run.brief() for run in self.killed_runs),
                self.convergence.log(),
                *(
                    f"stale (known bug): {text}"
                    for text in (self.findings.stale if self.findings else [])
                ),
                *self.problems(),
            ]
        )


def crash_round(
    lake: Lake, state: Path | str, *kills: Kill, reset: bool = True, max_runs: int = 4
) -> Round:
    """A fresh world; `apply --wait` killed as each of `kills` says, one run per kill (the
    later ones are recoveries that die too); then apply again until it converges."""
    if reset:
        lake.reset()
    killed_runs, invalid = [], []
    convergence = Convergence()
    for kill in kills:
        convergence.aged += age_pending_intents(lake, lake.endpoint_url, state)
        run = apply(
            lake.endpoint_url, state, *WAIT, crash_at=kill.crash_at, kill_after=kill.after,
            paths=lake.paths,
        )  # fmt: skip
        killed_runs.append(run)
        problem = state_after_kill(state)
        if problem:
            invalid.append(f"after {kill.label}: {problem}")
    convergence = converge(lake, state, max_runs=max_runs, result=convergence)
    findings = inspect(lake, state) if convergence.converged else None
    return Round(tuple(kills), killed_runs, convergence, findings, invalid)


def timer_kills(seed: int, count: int, low: float = 0.02, high: float = 0.6) -> list[Kill]:
    """Seeded random moments (seconds after the child's first state write) to SIGKILL it."""
    chooser = random.Random(seed)
    return [Kill(after=round(chooser.uniform(low, high), 3)) for _ in range(count)]
