"""Start-up and validation speed, as ratios to `python -c "import boto3"` in the same run.

Targets (issue 2): `reconcile --help` at most 0.4x and `reconcile validate` of a 2,000-import
manifest at most 2.0x of importing boto3. Wall times are medians of several runs; the machine
is shared and noisy, so read the ratios, not the milliseconds.

    python bench/startup.py [--runs 15] [--imports 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_manifest import manifest

# Measure as users run it: with bytecode caching (some shells set PYTHONDONTWRITEBYTECODE,
# which would recompile reconcile's modules on every start while boto3's ship compiled).
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(
            command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--imports", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text(manifest(args.imports))
        python = sys.executable
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import boto3'": [python, "-c", "import boto3"],
            "reconcile --help": [python, "-m", "reconciler", "--help"],
            f"reconcile validate ({args.imports} imports)": [
                python, "-m", "reconciler", "validate", str(path)
            ],
        }  # fmt: skip
        # Also the warm-up: the first run writes the bytecode cache.
        done = subprocess.run(
            commands[f"reconcile validate ({args.imports} imports)"], check=False, env=ENV
        )
        if done.returncode != 0:
            sys.exit("the generated manifest did not validate")
        # Interleave the runs so that load on the machine hits every command alike.
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(wall(command, 1))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    boto3 = medians["python -c 'import boto3'"]
    print(f"{'command':<40} {'median ms':>10} {'x boto3':>8}")
    for name, seconds in medians.items():
        print(f"{name:<40} {seconds * 1000:>10.0f} {seconds / boto3:>8.2f}")
    help_ratio = medians["reconcile --help"] / boto3
    validate_ratio = medians[f"reconcile validate ({args.imports} imports)"] / boto3
    print(f"\n--help: {help_ratio:.2f}x boto3 (target <= 0.40)")
    print(f"validate: {validate_ratio:.2f}x boto3 (target <= 2.00)")


if __name__ == "__main__":
    main()
