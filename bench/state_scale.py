"""State bookkeeping at scale: a step of apply costs what it changed, not what state holds.

Two measurements, each a ratio of two sizes taken in the same run (min and median of --runs):

1. `apply --wait` of 20 new imports beside N managed COMPLETED ones (the manifest holds all
   N + 20 entries; one queue, so the 20 run one after another), N = 3,000 against N = 100.
   Goal (issue 14): at most 1.3x. Beside it, the pinned floor: before every StartImport apply
   lists the destination store once (DESIGN.md, "Apply safety"), so the 20 starts cost at
   least 20 listings of a store holding N imports; those listings are timed on their own
   (the same adapter, in this process) and the ratio of what remains is shown too.
2. One state write (a record changed, under the lock, fsynced) with 10,000 records against
   1,000, straight through LocalStateStore. Before the journal: 42 ms and 322 ms.

    python bench/state_scale.py [--runs 3] [--managed 100 3000] [--new 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from served import serve_sandbox

from reconciler.aws.accounts import Connections
from reconciler.sandbox import seed
from reconciler.sandbox.worlds import hook, managed_world
from reconciler.state.local import LocalStateStore


def add_new_entries(paths: str, count: int) -> None:
    """`count` one-hour imports of the seeded January 2026 logs, beside the managed days."""
    manifest = Path(paths) / "many.yaml"
    lines = [
        f"  - {{name: new-{index:03d}, start_event_time: '2026-01-05T{index:02d}:00:00Z', "
        f"end_event_time: '2026-01-05T{index:02d}:59:59Z'}}"
        for index in range(count)
    ]
    manifest.write_text(manifest.read_text() + "\n".join(lines) + "\n")


def timed_last_looks(endpoint: str, looks: int) -> float:
    """Seconds for `looks` listings of the store, as apply's last look before a start makes."""
    reader = Connections(endpoint_url=endpoint, region=seed.BUCKET_REGION).reader(seed.ACCOUNT)
    reader.list_imports(seed.BUCKET_REGION, destination=seed.MANAGEMENT_STORE_ARN)  # connect
    began = time.perf_counter()
    for _ in range(looks):
        reader.list_imports(seed.BUCKET_REGION, destination=seed.MANAGEMENT_STORE_ARN)
    return time.perf_counter() - began


def timed_apply(endpoint: str, folder: Path, managed: int, new: int) -> float:
    hook(endpoint, "reset", {"seed": True})
    paths, state = managed_world(endpoint, folder, managed)
    add_new_entries(paths, new)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", paths, "--state", state,
         "--endpoint-url", endpoint, "--auto-approve", "--wait", "--poll-interval", "0.05",
         "--no-preflight"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"apply failed ({done.returncode}): {done.stdout[-1500:]}")
    records = LocalStateStore(state).read().imports
    finished = sum(1 for name, r in records.items() if name.startswith("new-") and r.final)
    assert finished == new, f"only {finished} of {new} new imports finished"
    return wall


def timed_write(endpoint: str, folder: Path, count: int, writes: int = 20) -> float:
    """Milliseconds per write of one changed record, the lock held, as apply writes."""
    hook(endpoint, "reset", {"seed": True})
    _, state = managed_world(endpoint, folder, count)
    store = LocalStateStore(state)
    with store.lock("bench"):
        document = store.read()
        name = next(iter(document.imports))
        began = time.perf_counter()
        for attempt in range(writes):
            changed = replace(document.imports[name], status=f"IN_PROGRESS-{attempt}")
            document = store.write(document.with_records({**document.imports, name: changed}))
        return (time.perf_counter() - began) * 1000 / writes


def summary(values: list[float]) -> str:
    return f"min {min(values):7.2f}  median {statistics.median(values):7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--managed", type=int, nargs=2, default=[100, 3000])
    parser.add_argument("--new", type=int, default=20)
    parser.add_argument("--records", type=int, nargs=2, default=[1000, 10000])
    args = parser.parse_args()
    process, endpoint = serve_sandbox("--speed", "2000", "--init-seconds", "0.05")
    small, large = args.managed
    apply_ratios, write_ratios = [], []
    walls: dict[int, list[float]] = {small: [], large: []}
    floors: dict[int, list[float]] = {small: [], large: []}
    rest_ratios = []
    per_write: dict[int, list[float]] = {n: [] for n in args.records}
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                for size in (small, large):
                    walls[size].append(timed_apply(endpoint, Path(folder) / f"a{run}-{size}",
                                                   size, args.new))  # fmt: skip
                    floors[size].append(timed_last_looks(endpoint, args.new))
                for count in args.records:
                    per_write[count].append(
                        timed_write(endpoint, Path(folder) / f"w{run}-{count}", count)
                    )
            apply_ratios.append(walls[large][-1] / walls[small][-1])
            rests = [walls[size][-1] - floors[size][-1] for size in (small, large)]
            rest_ratios.append(rests[1] / rests[0])
            write_ratios.append(per_write[args.records[1]][-1] / per_write[args.records[0]][-1])
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(
        f"{args.runs} runs; seeded sandbox at 2,000 files/s; state on {Path(tempfile.gettempdir())}"
    )
    print(f"\napply --wait of {args.new} new imports (seconds)")
    for size in (small, large):
        print(f"  beside {size:>6} managed: {summary(walls[size])}")
    print(f"  ratio {large}/{small}: {summary(apply_ratios)}   goal <= 1.3x")
    for size in (small, large):
        print(f"  of which {args.new} last looks at {size:>6}: {summary(floors[size])}")
    print(f"  ratio {large}/{small} without the last looks: {summary(rest_ratios)}")
    print("\none state write, one record changed (ms)")
    for count in args.records:
        print(f"  {count:>6} records:       {summary(per_write[count])}")
    print(f"  ratio {args.records[1]}/{args.records[0]}: {summary(write_ratios)}   "
          "(before the journal: 42 ms and 322 ms, 7.7x)")  # fmt: skip


if __name__ == "__main__":
    main()
