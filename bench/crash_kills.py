"""Kill `reconcile apply` 100 times and count what survives (issue 5: "a script in bench/
runs 100 and reports the counts").

Starts its own sandbox (`reconcile sandbox serve --port 0 --seed`, a subprocess), then runs
rounds: a freshly seeded world, `apply --wait` killed with SIGKILL (at each crash point, with
`:N` variants, then at seeded random moments), and `apply --wait` re-run until it converges.
After every round it checks, through ListImports + GetImport and the sandbox's stats, that each
desired import exists exactly once and no event was ingested twice, and that the state is
valid (right after each kill too). See tests/faults/harness.py for the details, including how
an intent that never reached AWS is let past the 10-minute grace window.

Run by hand, from the repository root:
    python bench/crash_kills.py [--rounds 100] [--seed 1] [--verbose]
Exit status 0 when no round found a duplicate or an invalid state, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.harness import (
    Kill,
    Lake,
    Round,
    crash_round,
    serve_sandbox,
    timer_kills,
)

CRASH_POINT_KILLS = (
    [f"before_start:{n}" for n in (1, 2, 3, 4)]
    + [f"after_start:{n}" for n in (1, 2, 3, 4)]
    + [f"mid_write:{n}" for n in (1, 2, 3, 4)]  # holder record, first write, compaction
    + [f"mid_journal:{n}" for n in (1, 2, 3, 4, 5, 6, 8, 10, 12, 14)]
    + ["mid_compaction"]
    + [f"waiting:{n}" for n in (1, 2, 3, 5, 8)]
)


def plan_kills(rounds: int, seed: int) -> list[Kill]:
    points = [Kill(crash_at=point) for point in CRASH_POINT_KILLS][:rounds]
    return points + timer_kills(seed, max(0, rounds - len(points)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="seed of the random kill moments")
    parser.add_argument("--verbose", action="store_true", help="print every round's report")
    args = parser.parse_args()

    began = time.monotonic()
    server, endpoint = serve_sandbox()
    lake = Lake(endpoint)
    results: list[Round] = []
    errors: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="crash-kills-") as scratch:
            for number, kill in enumerate(plan_kills(args.rounds, args.seed), 1):
                state = Path(scratch) / f"round-{number:03d}" / "state.json"
                try:
                    result = crash_round(lake, state, kill)
                except Exception as exc:  # e.g. the CLI itself broken: count it, go on
                    errors.append(f"round {number} {kill.label}: {type(exc).__name__}: {exc}")
                    print(errors[-1], flush=True)
                    continue
                results.append(result)
                problems = result.problems()
                if args.verbose or problems:
                    print(f"--- round {number}\n{result.report()}\n", flush=True)
                else:
                    print(
                        f"round {number:3d} {kill.label:>16}: "
                        f"{'killed' if result.kills_done else 'finished first'}, "
                        f"{len(result.convergence.runs)} re-run(s), ok"
                        + (
                            f" (stale state, known bug: {len(result.findings.stale)} record(s))"
                            if result.findings and result.findings.stale
                            else ""
                        ),
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)
    elapsed = time.monotonic() - began

    per_identity: Counter[int] = Counter()
    duplicates = invalid = duplicate_events = stale = 0
    for result in results:
        invalid += len(result.invalid_after_kill)
        if result.findings is None:
            continue
        per_identity.update(result.findings.imports_per_identity.values())
        duplicates += result.findings.duplicates + result.findings.other_imports
        duplicate_events += result.findings.duplicate_event_ids
        invalid += len(result.findings.state_problems)
        stale += len(result.findings.stale)
    runs = sum(len(r.killed_runs) + len(r.convergence.runs) for r in results)
    kills = sum(r.kills_done for r in results)
    unconverged = sum(1 for r in results if not r.convergence.converged)
    aged = sum(len(r.convergence.aged) for r in results)
    early = sum(r.convergence.early_exits for r in results)
    failed = [i for i, r in enumerate(results, 1) if r.problems()]

    print()
    print(f"rounds                          {len(results) + len(errors)}")
    print(f"rounds that raised an error     {len(errors)}")
    print(f"apply runs                      {runs}")
    print(f"kills (SIGKILL landed)          {kills}")
    print(f"rounds not converged            {unconverged}")
    print(
        "imports per identity            "
        + ", ".join(f"{count}x: {n}" for count, n in sorted(per_identity.items()))
    )
    print(f"duplicate imports found         {duplicates}")
    print(f"eventIDs ingested twice         {duplicate_events}")
    print(f"invalid states found            {invalid}")
    print(f"pending intents aged past grace {aged}")
    print(f"apply --wait early exits (bug)  {early}")
    print(f"stale COMPLETED records (bug)   {stale}")
    print(f"elapsed                         {elapsed:.1f} s")
    if failed:
        print(f"rounds with problems: {failed}")
    return 1 if failed or unconverged or errors else 0


if __name__ == "__main__":
    sys.exit(main())
