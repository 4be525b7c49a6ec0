"""`reconcile apply` against the served sandbox: starts, queues, retries, safety refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import seed
from reconciler.state.local import LocalStateStore
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.sandbox.helpers import trail_file

EXAMPLES = str(Path(__file__).parents[2] / "manifests" / "examples")
BAD_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/"
    "123456789012_CloudTrail_us-east-1_20260105T0010Z_BADBADBADBADBADB.json.gz"
)
BAD_KEY_6 = BAD_KEY.replace("/05/", "/06/").replace("20260105T", "20260106T")
FAST_APPLY = ["--auto-approve", "--poll-interval", "0.05", "--retry-backoff", "0"]


def day_manifest(folder: Path, days: dict[str, tuple[str, int]], max_attempts: int = 3) -> str:
    """One import per name: (store key 'east'/'west', day of January 2026 in the seeded data)."""
    stores = {"east": seed.MANAGEMENT_STORE_ARN, "west": seed.WEST_STORE_ARN}
    lines = [
        "version: 1",
        "defaults:",
        f"  source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: us-east-1, "
        f"role_arn: '{seed.ROLE_ARN}'}}",
        f"  retry: {{max_attempts: {max_attempts}}}",
        "imports:",
    ]
    for name, (store, day) in days.items():
        lines += [
            f"  - name: {name}",
            f"    destination: {stores[store]}",
            f"    start_event_time: 2026-01-{day:02d}T00:00:00Z",
            f"    end_event_time: 2026-01-{day:02d}T23:59:59Z",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "imports.yaml").write_text("\n".join(lines) + "\n")
    return str(folder)


def imports_in(sandbox: SandboxClient, region: str = "us-east-1") -> list[dict[str, Any]]:
    client = sandbox.client("cloudtrail", region)
    found = []
    for item in client.list_imports(MaxResults=1000)["Imports"]:
        found.append(client.get_import(ImportId=item["ImportId"]))
    return found


def apply(
    sandbox: SandboxClient, paths: str, state: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    return invoke(
        ["apply", paths, "--state", str(state), "--endpoint-url", sandbox.endpoint_url,
         "--no-color", *FAST_APPLY, *extra],
        capsys,
    )  # fmt: skip


def plan_text(
    sandbox: SandboxClient, paths: str, state: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    """The plan's text with whitespace folded (a long hint wraps across lines)."""
    _, out, _ = invoke(
        ["plan", paths, "--state", str(state), "--endpoint-url", sandbox.endpoint_url,
         "--no-color", "--retry-backoff", "0"],
        capsys,
    )  # fmt: skip
    return " ".join(out.split())


@pytest.mark.parametrize(
    ("scope", "summary", "started"),
    [("account", "Plan: 1 to create, 3 queued.", (1, 0)),
     ("region", "Plan: 2 to create, 2 queued.", (1, 1))],
)  # fmt: skip
def test_apply_starts_one_per_queue_then_wait_finishes_all(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scope: str,
    summary: str,
    started: tuple[int, int],
) -> None:
    """One import at a time per account by default (AWS's wording); per account and Region
    with --queue-scope region, against a Lake that allows that."""
    clean_sandbox.config(ongoing_scope=scope)
    state = tmp_path / "state.json"
    code, out, _ = apply(clean_sandbox, EXAMPLES, state, capsys, "--queue-scope", scope)
    assert code == 0
    assert summary in out
    assert len(imports_in(clean_sandbox, "us-east-1")) == started[0]
    assert len(imports_in(clean_sandbox, "us-west-2")) == started[1]
    code, out, _ = apply(clean_sandbox, EXAMPLES, state, capsys, "--wait", "--queue-scope", scope)
    assert code == 0
    east = imports_in(clean_sandbox, "us-east-1")
    assert len(east) == 3 and {i["ImportStatus"] for i in east} == {"COMPLETED"}
    records = LocalStateStore(state).read().imports
    assert {r.status for r in records.values()} == {"COMPLETED"}
    assert all(r.final and r.intent is None for r in records.values())
    code, out, _ = invoke(
        ["plan", EXAMPLES, "--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url,
         "--detailed-exitcode", "--no-color"],
        capsys,
    )  # fmt: skip
    assert (code, out.strip().splitlines()[-1]) == (0, "Plan: 4 unchanged.")
    duplicates = [s["event_ids_ingested_more_than_once"] for s in clean_sandbox.stats().values()]
    assert set(duplicates) == {0}


def test_no_terminal_and_no_auto_approve_changes_nothing(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        ["apply", EXAMPLES, "--state", str(tmp_path / "s.json"), "--endpoint-url",
         clean_sandbox.endpoint_url],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert "--auto-approve" in err
    assert imports_in(clean_sandbox) == []
    assert not LocalStateStore(tmp_path / "s.json").read().exists


def test_saved_plan_applies_and_stale_plan_is_refused(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, saved = tmp_path / "state.json", tmp_path / "pr.plan"
    common = ["--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url]
    assert invoke(["plan", EXAMPLES, "--out", str(saved), *common], capsys)[0] == 0
    # Someone starts an import in the console after the review: the plan is stale.
    client = clean_sandbox.client("cloudtrail")
    client.start_import(
        Destinations=[seed.MANAGEMENT_STORE_ARN],
        ImportSource={
            "S3": {
                "S3LocationUri": "s3://reconcile-demo-trail/AWSLogs/210987654321/",
                "S3BucketRegion": "us-east-1",
                "S3BucketAccessRoleArn": seed.ROLE_ARN,
            }
        },
    )
    code, _, err = invoke(["apply", "--plan", str(saved), "--auto-approve", *common], capsys)
    assert code == 1
    assert "is stale" in err and "appeared" in err
    assert len(imports_in(clean_sandbox)) == 1  # only the console's
    # A fresh plan applies, exactly as saved.
    assert invoke(["plan", EXAMPLES, "--out", str(saved), *common], capsys)[0] == 0
    code, out, _ = invoke(
        ["apply", "--plan", str(saved), "--auto-approve", "--json", *common], capsys
    )
    assert code == 0
    document = json.loads(out)
    outcomes = {a["name"]: a["outcome"] for a in document["actions"]}
    assert outcomes["demo-account-2026-01-07"].startswith("started ")
    assert len(imports_in(clean_sandbox)) == 2  # the console's and the plan's first
    # The state moved on: the same plan file is now stale.
    code, _, err = invoke(["apply", "--plan", str(saved), "--auto-approve", *common], capsys)
    assert code == 1 and "a state was written since the plan (serial" in err


def test_plan_file_takes_no_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["apply", EXAMPLES, "--plan", str(tmp_path / "x.plan")], capsys)
    assert code == 1 and "give no PATHS" in err


def test_failed_import_is_retried_until_attention_then_fixed(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A passing failure is retried by itself; a file that is not a trail log needs a person
    (no retry can fix it), --retry says it is fixed, and the attempts still run out."""
    s3 = clean_sandbox.client("s3")
    good = trail_file([{"eventID": "fixed-1", "eventTime": "2026-01-05T00:09:00Z"}])
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=good)
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY_6, Body=b"plain text, not gzip")
    clean_sandbox.config(flaky_keys=[BAD_KEY])  # fails once per import run, then reads fine
    days = {"jan-05": ("east", 5), "jan-06": ("east", 6)}
    paths = day_manifest(tmp_path / "m", days, max_attempts=2)
    state = tmp_path / "state.json"
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--wait")
    assert code == 3 and "need attention: jan-06" in out, out
    records = LocalStateStore(state).read().imports
    assert records["jan-05"].status == "COMPLETED"  # InternalError: retried by itself
    assert [a.kind for a in records["jan-05"].attempts] == ["create", "retry"]
    assert [a.kind for a in records["jan-06"].attempts] == ["create"]  # no attempt wasted
    shown = plan_text(clean_sandbox, paths, state, capsys)
    assert "a retry cannot cure (InvalidFileFormat)" in shown
    assert f"reconcile apply {paths} --retry jan-06" in shown  # the hint, as it is run
    code, out, _ = invoke(
        ["failures", "jan-06", "--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url],
        capsys,
    )
    assert BAD_KEY_6 in out
    # Said to be fixed, but it is not: the retry fails again and uses the last attempt.
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--wait", "--retry", "jan-06")
    assert code == 3, out
    assert "all 2 attempts used" in plan_text(clean_sandbox, paths, state, capsys)
    # Fix the file and allow one more attempt: the same import is retried to COMPLETED.
    fixed = trail_file([{"eventID": "fixed-6", "eventTime": "2026-01-06T00:09:00Z"}])
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY_6, Body=fixed)
    paths = day_manifest(tmp_path / "m", days, max_attempts=3)
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--wait", "--retry", "jan-06")
    assert code == 0, out
    assert len(imports_in(clean_sandbox)) == 2
    assert {i["ImportStatus"] for i in imports_in(clean_sandbox)} == {"COMPLETED"}
    assert (
        clean_sandbox.stats()[seed.MANAGEMENT_STORE_ARN]["event_ids_ingested_more_than_once"] == 0
    )


def test_removed_entry_is_forgotten_and_running_one_stopped(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_sandbox.config(speed=1.0, ongoing_scope="region")  # stays running for the test
    state = tmp_path / "state.json"
    paths = day_manifest(tmp_path / "m", {"jan-05": ("east", 5), "jan-06": ("west", 6)})
    assert apply(clean_sandbox, paths, state, capsys, "--queue-scope", "region")[0] == 0
    paths = day_manifest(tmp_path / "m", {"jan-05": ("east", 5)})
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--stop-removed")
    assert code == 0
    assert "forget" in out
    assert set(LocalStateStore(state).read().imports) == {"jan-05"}
    [west] = imports_in(clean_sandbox, "us-west-2")
    assert west["ImportStatus"] == "STOPPED"


def test_identity_change_needs_replace(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    paths = day_manifest(tmp_path / "m", {"jan": ("east", 5)})
    assert apply(clean_sandbox, paths, state, capsys, "--wait")[0] == 0
    # The identity change needs attention; another entry in the same apply proceeds, and
    # recording that run must not quietly take the changed identity into state.
    paths = day_manifest(tmp_path / "m", {"jan": ("east", 6), "west": ("west", 5)})
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--wait")
    assert code == 3 and "--replace jan" in out
    assert len(imports_in(clean_sandbox)) == 1
    recorded = LocalStateStore(state).read().imports["jan"].identity
    assert recorded.start is not None and recorded.start.day == 5
    code, out, _ = apply(clean_sandbox, paths, state, capsys, "--wait")
    assert code == 3 and "--replace jan" in out  # still: nothing was confirmed
    code, out, err = apply(clean_sandbox, paths, state, capsys, "--wait", "--replace", "jan")
    assert code == 0
    assert "stored (and billed) twice" in err
    assert sorted(i["StartEventTime"].day for i in imports_in(clean_sandbox)) == [5, 6]


def test_wait_timeout_exits_4_with_state_valid(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_sandbox.config(speed=2.0)
    state = tmp_path / "state.json"
    paths = day_manifest(tmp_path / "m", {"jan-05": ("east", 5), "jan-06": ("east", 6)})
    code, _, _ = apply(clean_sandbox, paths, state, capsys, "--wait", "--wait-timeout", "0.5")
    assert code == 4
    records = LocalStateStore(state).read().imports
    assert records["jan-05"].status in ("INITIALIZING", "IN_PROGRESS")
    assert "jan-06" not in records  # still queued: nothing written for it


def test_regions_run_in_parallel_and_one_at_a_time_within(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # about 2.4 s per day (96 files), against a Lake that runs one import per Region
    clean_sandbox.config(speed=40.0, ongoing_scope="region")
    days = {f"east-{d}": ("east", d) for d in (5, 6, 7)} | {
        f"west-{d}": ("west", d) for d in (5, 6)
    }
    paths = day_manifest(tmp_path / "m", days)
    code, _, _ = apply(
        clean_sandbox, paths, tmp_path / "state.json", capsys, "--wait", "--queue-scope", "region"
    )
    assert code == 0
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for region in ("us-east-1", "us-west-2"):
        found = imports_in(clean_sandbox, region)
        assert {i["ImportStatus"] for i in found} == {"COMPLETED"}
        spans[region] = sorted((i["CreatedTimestamp"], i["UpdatedTimestamp"]) for i in found)
        for (_, end), (start, _) in zip(spans[region], spans[region][1:], strict=False):
            assert start >= end, f"two imports ran at once in {region}"
    # Parallel queues, read from the Lake's own timestamps (not from wall-clock luck): the
    # first west import started while the first east import was still running.
    west_start = spans["us-west-2"][0][0]
    assert west_start < spans["us-east-1"][0][1], spans


def test_ctrl_c_exits_130_and_the_next_run_continues(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    # The import would take about three minutes (96 files at 0.5 a second): an apply that
    # waited for it could not exit within a minute, however loaded the machine is.
    clean_sandbox.config(speed=0.5)
    state = tmp_path / "state.json"
    paths = day_manifest(tmp_path / "m", {"jan-05": ("east", 5), "jan-06": ("east", 6)})
    command = [sys.executable, "-m", "reconciler", "apply", paths, "--state", str(state),
               "--endpoint-url", clean_sandbox.endpoint_url, *FAST_APPLY, "--wait"]  # fmt: skip

    # A background job's children start with SIGINT ignored (and then Python installs no
    # KeyboardInterrupt handler): give apply the default, as a terminal would.
    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, CI="true"),
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 20
    while not (state.exists() and LocalStateStore(state).read().imports.get("jan-05")):
        assert time.monotonic() < deadline, "apply never started an import"
        time.sleep(0.05)
    while LocalStateStore(state).read().imports["jan-05"].import_id is None:
        time.sleep(0.05)
    interrupted_at = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert time.monotonic() - interrupted_at < 60, "Ctrl-C must not wait for the imports"
    assert child.returncode == 130, err
    assert "Traceback" not in err
    records = LocalStateStore(state).read().imports
    assert records["jan-05"].import_id and records["jan-05"].intent is None
    clean_sandbox.config(speed=2000.0)
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, CI="true"))
    assert done.returncode == 0, done.stderr
    assert {i["ImportStatus"] for i in imports_in(clean_sandbox)} == {"COMPLETED"}
    assert len(imports_in(clean_sandbox)) == 2


def test_rejected_start_is_reported_and_counted(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "bad.yaml").write_text(
        "version: 1\nimports:\n"
        f"  - name: into-config-store\n    destination: {seed.CONFIG_STORE_ARN}\n"
        f"    source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: us-east-1, "
        f"role_arn: '{seed.ROLE_ARN}'}}\n    retry: {{max_attempts: 1}}\n"
    )
    state = tmp_path / "state.json"
    # Preflight would stop it first (store-wrong-category); this is about AWS's refusal.
    code, out, err = apply(clean_sandbox, str(folder), state, capsys, "--no-preflight")
    assert code == 1
    assert "InvalidEventDataStoreCategoryException" in err
    assert (out + err).count("InvalidEventDataStoreCategoryException") == 1  # said once
    record = LocalStateStore(state).read().imports["into-config-store"]
    assert [a.outcome for a in record.attempts] == ["rejected"] and record.intent is None
    code, out, _ = apply(clean_sandbox, str(folder), state, capsys, "--no-preflight")
    assert code == 3 and "rejected 1 time" in out
    assert datetime.now(UTC) > record.attempts[0].at


def test_backoff_before_a_retry_is_recorded_as_next_retry_at(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = trail_file([{"eventID": "flaky-1", "eventTime": "2026-01-05T00:09:00Z"}])
    clean_sandbox.client("s3").put_object(Bucket=seed.BUCKET, Key=BAD_KEY, Body=good)
    clean_sandbox.config(flaky_keys=[BAD_KEY])
    paths = day_manifest(tmp_path / "m", {"jan-05": ("east", 5)})
    state = tmp_path / "state.json"
    common = ["--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url, "--no-color"]
    slow = ["--auto-approve", "--poll-interval", "0.05", "--retry-backoff", "3600"]
    code, _, _ = invoke(["apply", paths, *slow, "--wait", "--wait-timeout", "3", *common], capsys)
    assert code == 4  # FAILED, and its retry waits an hour: --wait stops at the timeout
    record = LocalStateStore(state).read().imports["jan-05"]
    assert record.status == "FAILED" and record.next_retry_at is not None
    assert 3000 < (record.next_retry_at - datetime.now(UTC)).total_seconds() <= 3600
    code, out, _ = invoke(["state", "history", "jan-05", *common], capsys)
    assert "Next retry not before" in out
    code, out, _ = invoke(["plan", paths, "--retry-backoff", "3600", "--json", *common], capsys)
    [action] = json.loads(out)["actions"]
    assert action["action"] == "queued" and action["not_before"]
