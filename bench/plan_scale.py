"""Plan at scale: CloudTrail calls, wall time and peak memory vs a naive refresh.

Starts `reconcile sandbox serve --latency 20` (every CloudTrail call takes 20 ms more, like a
real Region), bulk-inserts N COMPLETED imports, writes a manifest with N entries and a state
whose records hold those imports as final, then times `reconcile plan` (a subprocess, so its
peak RSS is its own) against a naive refresh that calls GetImport once per import.

Targets at 10,000 (issue 4): at most 12 CloudTrail calls, at least 50x faster than the naive
refresh, peak RSS at most 200 MB.

    python bench/plan_scale.py [--sizes 1000 10000] [--naive-sample 0]

`--naive-sample K` times only K GetImports and scales the time to N (labelled as estimated);
0 runs the whole naive refresh (10,000 x 20 ms is several minutes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from served import serve_sandbox

from reconciler.aws.accounts import Connections
from reconciler.aws.lake import LakeReader
from reconciler.aws.session import ClientFactory
from reconciler.plan.make import PlanRequest, make_plan
from reconciler.sandbox import seed
from reconciler.sandbox.worlds import hook, managed_world
from reconciler.state.local import LocalStateStore


def write_world(folder: Path, endpoint: str, count: int) -> tuple[str, str]:
    hook(endpoint, "reset", {"seed": True})
    return managed_world(endpoint, folder, count)


def timed_plan(paths: str, state: str, endpoint: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `reconcile plan --json` in its own process."""
    began = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "reconciler", "plan", paths,
         "--state", state, "--endpoint-url", endpoint, "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"plan failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)["summary"]
    assert summary["noop"] > 0 and summary["create"] == 0, summary
    return wall, int(done.stderr.strip().splitlines()[-1])


def counted_calls(paths: str, state: str, endpoint: str) -> int:
    connections = Connections(region="us-east-1", endpoint_url=endpoint)
    make_plan(PlanRequest(paths=(paths,)), LocalStateStore(state).read(), connections)
    return sum(connections.calls().values())


def naive_refresh(endpoint: str, count: int, sample: int) -> tuple[float, bool]:
    """GetImport once per import, as a tool without a listing strategy would."""
    factory = ClientFactory(region="us-east-1", endpoint_url=endpoint)
    reader = LakeReader(factory, seed.ACCOUNT)
    ids = [obs.import_id for obs in reader.list_imports("us-east-1")]
    todo = ids if not sample or sample >= len(ids) else ids[:sample]
    began = time.perf_counter()
    for import_id in todo:
        reader.get_import("us-east-1", import_id)
    elapsed = time.perf_counter() - began
    return elapsed * count / len(todo), len(todo) < count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--naive-sample", type=int, default=0)
    args = parser.parse_args()
    process, endpoint = serve_sandbox("--latency", str(args.latency))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for count in args.sizes:
                paths, state = write_world(Path(folder), endpoint, count)
                calls = counted_calls(paths, state, endpoint)
                wall, rss = timed_plan(paths, state, endpoint)
                naive, estimated = naive_refresh(endpoint, count, args.naive_sample)
                rows.append((count, calls, wall, rss, naive, estimated))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"sandbox latency {args.latency} ms per CloudTrail call\n")
    header = ("imports", "calls", "plan s", "peak RSS MB", "naive s", "speed-up")
    print("{:>8} {:>6} {:>8} {:>12} {:>9} {:>9}".format(*header))
    for count, calls, wall, rss, naive, estimated in rows:
        mark = "*" if estimated else " "
        print(f"{count:>8} {calls:>6} {wall:>8.2f} {rss / 1024:>12.0f} {naive:>8.1f}{mark} "
              f"{naive / wall:>8.0f}x")  # fmt: skip
    if any(row[5] for row in rows):
        print(f"\n* estimated from {args.naive_sample} GetImport calls, scaled to the count")
    print("\ntargets at 10,000: <= 12 calls, >= 50x faster than naive, <= 200 MB peak RSS")


if __name__ == "__main__":
    main()
