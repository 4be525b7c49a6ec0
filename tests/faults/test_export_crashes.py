"""SIGKILL apply at the dangerous moments of an export, then re-run it: one task, never two.

Each round seeds the sandbox, fills the store with one day (an import run to completion),
kills `reconcile apply` (a subprocess) at a crash point of the export step, checks the state
is valid right after the kill, then applies again until nothing is left to do. Then: exactly
one CloudWatch Logs import task with the export's range, and no event copied twice.

Points: `export_before_create` (intent in state, CreateImportTask not sent),
`export_after_create` (the task exists, its importId not yet in state), `mid_journal` (the
export's intent line torn: the intent never happened, so neither did the create).

An intent that never reached AWS stays `pending` for the grace window (10 minutes, which no
option shortens); as the imports' crash harness does, the test ages it in the state, and
only once the plan shows it `pending` and the sandbox holds no task at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.sandbox import seed
from reconciler.state.local import LocalStateStore
from tests.conftest import SandboxClient
from tests.faults.harness import child_env
from tests.sandbox.helpers import start, wait_finished

MANIFEST = f"""version: 1
exports:
  - name: cw-jan-05
    source: {seed.MANAGEMENT_STORE_ARN}
    role_arn: {seed.ROLE_ARN}
    start_event_time: 2026-01-05T00:00:00Z
    end_event_time: 2026-01-05T23:59:59.999Z
"""
POINTS = ["export_before_create", "export_after_create", "mid_journal"]


def apply(sandbox: SandboxClient, folder: Path, state: Path, crash_at: str | None = None) -> int:
    env = child_env(**({"RECONCILE_CRASH_AT": crash_at} if crash_at else {}))
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", str(folder), "--state", str(state),
         "--endpoint-url", sandbox.endpoint_url, "--auto-approve", "--no-color"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode


@pytest.mark.parametrize("point", POINTS)
def test_an_export_killed_then_rerun_is_created_exactly_once(
    clean_sandbox: SandboxClient, tmp_path: Path, point: str
) -> None:
    cloudtrail = clean_sandbox.client("cloudtrail")
    filled = start(cloudtrail, StartEventTime=datetime(2026, 1, 5, tzinfo=UTC),
                   EndEventTime=datetime(2026, 1, 5, 23, 59, tzinfo=UTC))  # fmt: skip
    assert wait_finished(cloudtrail, filled["ImportId"])["ImportStatus"] == "COMPLETED"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "exports.yaml").write_text(MANIFEST)
    state = tmp_path / "state.json"

    assert apply(clean_sandbox, folder, state, crash_at=point) == -9, "the kill must happen"
    LocalStateStore(state).read()  # valid right after the kill (raises if not)
    logs = clean_sandbox.client("logs")
    if not logs.describe_import_tasks()["imports"]:
        _age_pending_intent(clean_sandbox, folder, state)
    for _ in range(3):  # converges: a lost answer is settled by proof, then nothing to do
        assert apply(clean_sandbox, folder, state) == 0
    tasks = logs.describe_import_tasks()["imports"]
    assert len(tasks) == 1, tasks
    record = LocalStateStore(state).read().exports["cw-jan-05"]
    assert record.import_id == tasks[0]["importId"] and record.intent_at is None
    (copied,) = clean_sandbox.hook("stats")["log_groups"]
    assert copied["events_copied"] > 0 and copied["duplicate_events"] == 0


def _age_pending_intent(sandbox: SandboxClient, folder: Path, state: Path) -> None:
    """Move an unanswered intent back past the grace window: only while it shows `pending`
    (never reached AWS as far as anyone can tell) and no task exists. Through the store, so
    an intent still in the journal is found too."""
    store = LocalStateStore(state)
    record = store.read().exports.get("cw-jan-05")
    if record is None or record.intent_at is None:
        return  # the intent itself was lost (a torn line): nothing to age
    shown = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(folder), "--state", str(state),
         "--endpoint-url", sandbox.endpoint_url, "--json"],
        env=child_env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    (action,) = [a for a in json.loads(shown.stdout)["actions"] if a["name"] == "cw-jan-05"]
    assert action["action"] == "pending", action
    with store.lock("test: age the pending intent"):
        document = store.read()
        aged = replace(record, intent_at=datetime(2026, 1, 1, tzinfo=UTC))
        store.write(document.with_exports({**document.exports, "cw-jan-05": aged}))
