"""`reconcile demo` runs the whole job against its own sandbox and leaves nothing running."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from reconciler.cli.demo_cmds import RETRY_ENTRY
from reconciler.state.local import LocalStateStore


def test_demo_walks_through_the_job_and_stops_its_sandbox(tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "demo", "--keep", str(keep), "--color", "off"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = " ".join(done.stdout.split())  # a long hint wraps across lines
    steps = [
        "$ reconcile validate",
        "Plan: 1 to create, 3 queued.",
        "started",
        "Plan: 4 unchanged.",
        "InvalidFileFormat",  # the failed import's failure, from `reconcile failures`
        "Then say it is fixed: reconcile apply",  # the plan asks for the fix, then --retry
        f"--retry {RETRY_ENTRY}",
        "Plan: 1 to retry, 4 unchanged.",
        f"{RETRY_ENTRY}: retried",
        "$ reconcile status",
        "Plan: 5 unchanged.",
        "Plan: 1 to create, 5 unchanged.",  # the way out: an export to CloudWatch
        "demo-management-to-cloudwatch: created task",
        "each copied once",
        "Plan: 6 unchanged.",
        "the sandbox has stopped",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p < 0]
    assert positions == sorted(positions), "the steps ran out of order"
    records = LocalStateStore(keep / "state.json").read().imports
    assert {r.status for r in records.values()} == {"COMPLETED"}
    assert len(records) == 5
    retried = records[RETRY_ENTRY]
    assert [(a.kind, a.outcome) for a in retried.attempts] == [
        ("create", "started"),
        ("retry", "started"),
    ]
    assert retried.attempts[0].import_id == retried.attempts[1].import_id  # same import
    exported = LocalStateStore(keep / "state.json").read().exports
    assert list(exported) == ["demo-management-to-cloudwatch"]
    assert exported["demo-management-to-cloudwatch"].import_id
    # The sandbox it started is gone: nothing listens on its port any more.
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
