"""Issue 14's table in one run: each row a ratio measured side by side, min and median of N.

Runs the benches as they are run by hand (each in its own processes, each comparing its two
sides in the same run) --runs times, reads the ratio each prints, and prints one table:

| metric | goal | min | median |

    python bench/table.py [--runs 3] [--quick]

--quick uses smaller sizes (1,000 instead of 10,000 for plan, 1,000 managed for apply) to
check that the table works; its numbers are not the issue's rows.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True, text=True, check=False, cwd=HERE,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{script} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    return done.stdout


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if not found:
        raise SystemExit(f"no {pattern!r} in:\n{text}")
    return float(found.group(1))


@dataclass
class Row:
    metric: str
    goal: str
    bench: str  # which bench's output holds it
    read: Callable[[str], float]
    unit: str = "x"


def _column(size: str, index: int) -> Callable[[str], float]:
    def read(text: str) -> float:
        line = re.search(rf"^ +{size} .*$", text, re.M)
        if line is None:
            raise SystemExit(f"no row for {size} in:\n{text}")
        return float(line.group(0).split()[index].rstrip("x*"))

    return read


def benches(quick: bool) -> tuple[dict[str, list[str]], list[Row]]:
    managed = "1000" if quick else "3000"
    size = "1000" if quick else "10000"
    commands = {
        "state": ["state_scale.py", "--runs", "1", "--managed", "100", managed],
        "startup": ["startup.py", "--runs", "5"],
        "plan": ["plan_scale.py", "--sizes", size, "--naive-sample", "300"],
        "accounts": ["accounts_scale.py"],
    }
    table = [
        Row(f"apply --wait, 20 new beside {managed} managed vs beside 100", "<= 1.3x", "state",
            lambda text: number(rf"ratio {managed}/100: min +([\d.]+)", text)),
        Row("one state write at 10,000 records", "(was 322 ms)", "state",
            lambda text: number(r"10000 records: +min +([\d.]+)", text), " ms"),
        Row("one state write, 10,000 records vs 1,000", "(was 7.7x)", "state",
            lambda text: number(r"ratio 10000/1000: min +([\d.]+)", text)),
        Row("validate of 2,000 imports vs `import boto3`", "<= 1.0x", "startup",
            lambda text: number(r"validate: ([\d.]+)x boto3", text)),
        Row(f"plan over {size} COMPLETED vs naive refresh, 20 ms", ">= 50x", "plan",
            _column(size, -1)),
        Row("peak RSS of that plan, --json", "<= 150 MB", "plan", _column(size, 3), " MB"),
        Row("apply --wait, 20 accounts x 3 vs one account's 3", "<= 1.2x", "accounts",
            lambda text: number(r"ratio: ([\d.]+)x", text)),
    ]  # fmt: skip
    return commands, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    commands, table = benches(args.quick)
    values: dict[str, list[float]] = {row.metric: [] for row in table}
    for round_ in range(1, args.runs + 1):
        outputs = {name: run(*command) for name, command in commands.items()}
        for row in table:
            values[row.metric].append(row.read(outputs[row.bench]))
            print(f"run {round_}: {row.metric}: {values[row.metric][-1]:.2f}{row.unit}",
                  file=sys.stderr)  # fmt: skip
    print(f"{args.runs} runs on {platform.machine()}, {_cpus()} CPUs, Python "
          f"{platform.python_version()}\n")  # fmt: skip
    print("| metric | goal | min | median |")
    print("|---|---|---|---|")
    for row in table:
        low, middle = min(values[row.metric]), statistics.median(values[row.metric])
        print(f"| {row.metric} | {row.goal} | {low:.2f}{row.unit} | {middle:.2f}{row.unit} |")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
