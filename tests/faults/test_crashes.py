"""SIGKILL apply at every dangerous moment, then re-run it: nothing is imported twice.

Issue 5, "How we will know": each round starts from a freshly seeded sandbox with the four
example imports (one queue: the account), runs `apply --wait` as a subprocess that dies
with SIGKILL (at a crash point via RECONCILE_CRASH_AT=NAME[:N], or by a timer a seeded
random delay after its first state write), then runs `apply --wait` again until it
converges. A round whose kill did not happen fails. Then: every desired import exists
exactly once in the sandbox (ListImports + GetImport, counted by identity), no eventID was
ingested twice, and the state is valid with every entry COMPLETED. The state must also be
valid right after each kill.

The crash points (reconciler/faultpoints.py): `before_start` (intent written, StartImport not
sent), `after_start` (StartImport answered, ImportId not yet written), `mid_write` (a temp
file written, not renamed: the lock holder record, the backup or the whole state),
`mid_journal` (half a journal line written and synced: a torn write), `mid_compaction` (the
journal folded into the document, the journal not yet removed), `waiting` (in the --wait
poll loop). `:N` dies the Nth time the point is passed, counted over
both Regions' workers.

An intent that never reached AWS stays `pending` for the 10-minute grace window, which plan
and apply cannot shorten; the harness ages such an intent in the state (see
`harness.age_pending_intents`) only after the plan shows it `pending` and the sandbox holds no
import with its identity, and the round's report lists each time it did.

CI runs this fixed, seeded set (16 kills); bench/crash_kills.py runs 100.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Kill, Lake, crash_round, timer_kills

CRASH_POINT_KILLS = [
    "before_start",  # the first intent is in state, no StartImport was sent
    "before_start:3",  # the third start: the first queued one, after an import finished
    "after_start",  # an import exists in AWS, state holds only the intent
    "after_start:3",
    "mid_write:2",  # the first state write (mid_write:1 is the lock holder record)
    "mid_write:3",  # the compaction at the end of the run: its backup...
    "mid_write:4",  # ...and the document itself
    "mid_journal",  # the first step's line torn: the first intent, before its StartImport
    "mid_journal:4",  # a later step's line
    "mid_journal:9",
    "mid_compaction",  # the run's writes are in the document, its journal not yet removed
    "waiting",  # --wait polling an import
    "waiting:4",
]
TIMER_KILLS = timer_kills(seed=5, count=2)
# A recovery that is itself killed: after_start, then the re-run dies before its next start.
CHAINED_KILLS = [(Kill(crash_at="after_start"), Kill(crash_at="before_start:2"))]

ROUNDS = (
    [(Kill(crash_at=point),) for point in CRASH_POINT_KILLS]
    + [(kill,) for kill in TIMER_KILLS]
    + CHAINED_KILLS
)


def _round_id(kills: tuple[Kill, ...]) -> str:
    return "+".join(kill.label for kill in kills)


@pytest.mark.parametrize("kills", ROUNDS, ids=[_round_id(kills) for kills in ROUNDS])
def test_apply_killed_then_rerun_imports_everything_exactly_once(
    lake: Lake, state: Path, kills: tuple[Kill, ...]
) -> None:
    result = crash_round(lake, state, *kills, reset=False)
    report = result.report()

    for kill, run in zip(kills, result.killed_runs, strict=True):
        # A round whose kill did not happen tests nothing: that is a failure, not a pass.
        assert run.killed, f"{kill.label} never killed apply\n{report}"
    assert result.convergence.converged, report
    assert result.problems() == [], report
