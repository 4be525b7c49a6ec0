"""Apply against a sandbox that loses StartImport responses or throttles CloudTrail calls.

Issue 5, "How we will know": with 30% of StartImport responses lost (the import starts, the
caller gets a 500) repeated `apply --wait` converges with every import exactly once; with 30%
of CloudTrail calls answered ThrottlingException, apply still converges with no duplicate.
Faults come from the sandbox's seeded generator (`fault_seed`), so each run sees the same
sequence of fault decisions.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.config import Config

from tests.faults.harness import (
    DESIRED,
    NO_FAULTS,
    WAIT,
    Lake,
    Run,
    apply,
    converge,
    inspect,
)

LOST = "outcome unknown"  # what apply says when a StartImport answer was lost


def _outputs(runs: list[Run]) -> str:
    return "\n".join(run.stdout + run.stderr for run in runs)


@pytest.mark.parametrize("extra", [WAIT, ()], ids=["wait", "one-step-per-run"])
def test_lost_start_responses_converge_with_every_import_once(
    lake: Lake, state: Path, extra: tuple[str, ...]
) -> None:
    # fault_seed 4: three of the four StartImport answers are lost (draws .24 .10 .40 .15).
    lake.config(lose_start_responses=0.3, fault_seed=4)

    result = converge(lake, state, max_runs=12, extra=extra)
    lake.config(**NO_FAULTS)
    report = result.log()

    assert result.converged, report
    assert _outputs(result.runs).count(LOST) == 3, report
    assert result.aged == [], "a lost answer means the import exists: nothing may wait out grace"
    findings = inspect(lake, state)
    assert findings.problems() == [], f"{report}\nstale (known bug): {findings.stale}"


def test_throttled_calls_converge_without_duplicates(lake: Lake, state: Path) -> None:
    lake.config(throttle=0.3, fault_seed=7)
    # The fault is on: a client that never retries sees about 30% throttled.
    import boto3

    probe = boto3.client(
        "cloudtrail",
        region_name="us-east-1",
        endpoint_url=lake.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    throttled = 0
    for _ in range(20):
        try:
            probe.list_imports()
        except probe.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            throttled += 1
    assert 2 <= throttled <= 12

    result = converge(lake, state, max_runs=3)
    lake.config(**NO_FAULTS)
    report = result.log()

    assert result.converged, report
    assert result.runs[0].returncode == 0, f"throttling alone must not fail apply\n{report}"
    findings = inspect(lake, state)
    assert findings.problems() == [], f"{report}\nstale (known bug): {findings.stale}"


def test_wait_waits_for_adopted_imports(lake: Lake, state: Path) -> None:
    """`apply --wait` exits 0 only when every import is done (issue 5: "until all are done").

    Every StartImport answer is lost and each import spends a second INITIALIZING, so each
    import is adopted while still INITIALIZING. The last one of each queue is then never
    waited for: apply exits 0 with two imports unfinished and state recording INITIALIZING.
    """
    lake.config(lose_start_responses=1.0, fault_seed=1, init_seconds=1.0)

    run = apply(lake.endpoint_url, state, *WAIT)
    lake.config(**NO_FAULTS)

    assert run.returncode == 0, run.brief()
    assert run.stdout.count(LOST) == len(DESIRED), run.stdout
    statuses = {
        details["ImportId"]: details["ImportStatus"] for details in lake.imports()
    }  # read at once, before the sandbox advances them further
    from reconciler.state.local import LocalStateStore

    recorded = {name: r.status for name, r in LocalStateStore(state).read().imports.items()}
    assert set(statuses.values()) == {"COMPLETED"}, statuses
    assert set(recorded.values()) == {"COMPLETED"}, recorded


def test_apply_records_imports_that_completed_since_the_last_run(lake: Lake, state: Path) -> None:
    """DESIGN.md, "State": apply "refreshes what it observes (final details of COMPLETED
    imports, so later plans need no GetImport for them)".

    One step (no --wait) starts the us-west-2 import and records it INITIALIZING. Once it has
    COMPLETED in AWS, the next apply's plan is a single noop: that apply must record
    COMPLETED, but it writes nothing and the record stays INITIALIZING for good.
    """
    from reconciler.state.local import LocalStateStore

    target = ("--target", "demo-organization-first-days")
    first = apply(lake.endpoint_url, state, *target)
    assert first.returncode == 0, first.brief()
    record = LocalStateStore(state).read().imports["demo-organization-first-days"]
    assert record.status == "INITIALIZING"
    client = lake.cloudtrail("us-west-2")
    for _ in range(100):
        if client.get_import(ImportId=record.import_id)["ImportStatus"] == "COMPLETED":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the import did not complete in the sandbox")

    second = apply(lake.endpoint_url, state, *target)
    assert second.returncode == 0, second.brief()
    after = LocalStateStore(state).read().imports["demo-organization-first-days"]
    assert (after.status, after.final) == ("COMPLETED", True), second.stdout
