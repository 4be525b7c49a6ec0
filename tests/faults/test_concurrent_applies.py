"""Four applies started together on one state file: one proceeds, three stop at once.

Issue 5, "How we will know": the others stop quickly with a message naming the lock holder
(DESIGN.md, "State": user@host, pid, lock ID; `--lock-timeout` defaults to 0), and no import
is started twice.
"""

from __future__ import annotations

import getpass
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.faults.harness import WAIT, Lake, Run, apply, inspect, settled

APPLIES = 4
QUICK = 5.0  # seconds, from start to exit, python start-up included


def test_four_applies_on_one_state_one_proceeds(lake: Lake, state: Path) -> None:
    # Slow imports (about 3 s for the us-west-2 one): the winner holds the lock long after
    # every other apply has tried to take it.
    lake.config(speed=200.0, init_seconds=0.2)
    ready = threading.Barrier(APPLIES)

    def one_apply(_: int) -> Run:
        ready.wait()
        return apply(lake.endpoint_url, state, *WAIT)

    with ThreadPoolExecutor(APPLIES) as pool:
        runs = list(pool.map(one_apply, range(APPLIES)))
    report = "\n".join(f"pid {run.pid}: {run.brief()}" for run in runs)

    winners = [run for run in runs if run.returncode == 0]
    losers = [run for run in runs if run.returncode != 0]
    assert len(winners) == 1, report
    winner = winners[0]
    assert len(losers) == APPLIES - 1, report
    lock_ids = set()
    for run in losers:
        assert run.returncode == 1, report
        assert run.elapsed < QUICK, report
        assert winner.elapsed > max(loser.elapsed for loser in losers), report
        message = run.stderr
        assert f"{getpass.getuser()}@{socket.gethostname()}" in message, message
        assert f"pid {winner.pid}," in message, message
        found = re.search(r"lock ID ([0-9a-f-]{36})", message)
        assert found, message
        lock_ids.add(found.group(1))
        assert ": started " not in run.stdout, run.stdout  # it started nothing
    assert len(lock_ids) == 1, f"the losers name different holders: {lock_ids}"
    assert settled(state), report
    assert inspect(lake, state).problems() == [], report
