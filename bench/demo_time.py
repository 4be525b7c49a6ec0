"""How long `reconcile demo` takes, against its one-minute budget (issue 7).

python bench/demo_time.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BUDGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "demo", "--color", "off"],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise SystemExit(f"the demo failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    median = statistics.median(times)
    print(f"reconcile demo, {args.runs} runs: " + ", ".join(f"{t:.1f} s" for t in times))
    print(
        f"median {median:.1f} s = {median / BUDGET_SECONDS:.2f}x the {BUDGET_SECONDS:.0f} s budget"
    )


if __name__ == "__main__":
    main()
