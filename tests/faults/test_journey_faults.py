"""The crash, lost-answer, throttling and concurrency suites over the whole journey: the
examples' four imports and four exports of their stores to CloudWatch Logs, in one world.

Issue 15, "How we will know": as for imports (test_crashes.py, test_fault_injection.py,
test_concurrent_applies.py), `apply --wait` is killed at the dangerous moments of an export
(and by seeded timers), loses CreateImportTask answers, is throttled, or runs four at once;
then apply again until it converges. Then `harness.inspect`: every import and every export
task exactly once, nothing else started, no eventID ingested twice, every event of each
export's range copied to its log group exactly once (counted by eventID in the sandbox), and
a valid state naming each one COMPLETED.

One `apply --wait` makes the whole journey: the imports, then the exports queued behind them,
three at a time (AWS's active tasks per account), the fourth once a slot is free.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.harness import (
    NO_FAULTS,
    WAIT,
    Kill,
    Lake,
    apply,
    converge,
    crash_round,
    inspect,
    journey,
    settled,
    timer_kills,
)

EXPORT_KILLS = [
    "export_before_create",  # the first export's intent in state, CreateImportTask not sent
    "export_before_create:4",  # the fourth: the one that waited for a slot, after a re-plan
    "export_after_create",  # a task exists in AWS, state holds only its intent
    "export_after_create:2",
    "export_after_create:4",
    "export_waiting",  # --wait following the tasks
    "export_waiting:3",
]
# Seeded moments well into the run: after the imports' start, in their wait or the exports'.
TIMER_KILLS = timer_kills(seed=15, count=2, low=0.8, high=3.0)
CHAINED = [(Kill(crash_at="export_after_create"), Kill(crash_at="export_before_create:2"))]
ROUNDS = [(Kill(crash_at=point),) for point in EXPORT_KILLS] + [(k,) for k in TIMER_KILLS]
ROUNDS += CHAINED


@pytest.fixture
def world(lake: Lake, tmp_path: Path) -> Lake:
    journey(lake, tmp_path / "journey")
    return lake


@pytest.mark.parametrize(
    "kills", ROUNDS, ids=["+".join(kill.label for kill in kills) for kills in ROUNDS]
)
def test_the_journey_killed_then_rerun_copies_everything_exactly_once(
    world: Lake, state: Path, kills: tuple[Kill, ...]
) -> None:
    result = crash_round(world, state, *kills, reset=False)
    report = result.report()
    for kill, run in zip(kills, result.killed_runs, strict=True):
        assert run.killed, f"{kill.label} never killed apply\n{report}"
    assert result.convergence.converged, report
    assert result.problems() == [], report


def test_one_apply_wait_makes_the_whole_journey(world: Lake, state: Path) -> None:
    run = apply(world.endpoint_url, state, *WAIT, paths=world.paths)
    assert run.returncode == 0, run.brief()
    assert settled(state, world.exports), run.stdout
    assert inspect(world, state).problems() == []


@pytest.mark.parametrize("extra", [WAIT, ()], ids=["wait", "one-step-per-run"])
def test_lost_create_answers_converge_with_every_task_once(
    world: Lake, state: Path, extra: tuple[str, ...]
) -> None:
    # The seeded generator loses some of the eight creates' answers (StartImport and
    # CreateImportTask alike): each start happened, its caller got a 500.
    world.config(lose_start_responses=0.4, fault_seed=3)
    result = converge(world, state, max_runs=16, extra=extra)
    world.config(**NO_FAULTS)
    report = result.log()
    assert result.converged, report
    lost = sum((r.stdout + r.stderr).count("answer was lost") for r in result.runs)
    assert lost >= 1, f"no CreateImportTask answer was lost: the test tested nothing\n{report}"
    assert result.aged == [], "a lost answer means the task exists: nothing waits out grace"
    assert inspect(world, state).problems() == [], report


def test_throttled_calls_converge_without_a_second_task(world: Lake, state: Path) -> None:
    world.config(throttle=0.3, fault_seed=11)
    result = converge(world, state, max_runs=10)
    world.config(**NO_FAULTS)
    assert result.converged, result.log()
    assert inspect(world, state).problems() == [], result.log()


def test_four_applies_of_the_journey_at_once_start_each_task_once(world: Lake, state: Path) -> None:
    ready = threading.Barrier(4)

    def one(_: int) -> int:
        ready.wait()
        return apply(world.endpoint_url, state, *WAIT, paths=world.paths).returncode

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(one, range(4)))
    assert codes == [0, 1, 1, 1]  # one holds the lock; the others stop at once
    assert settled(state, world.exports)
    assert inspect(world, state).problems() == []
