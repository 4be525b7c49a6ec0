"""Many accounts in one apply: 20 accounts x 3 queued imports vs 3 imports in one account.

Starts `reconcile sandbox serve`, builds member accounts (bucket with 3 days of logs, import
role, event data store, and the role reconcile assumes), writes a manifest with one import per
day and account, and times `reconcile apply --wait` (a subprocess) for one account, then for
all of them, in the same run. Each account's three imports must run one after the other; the
accounts run side by side, so the total should stay close to the single account's.

Target (issue 6): 20 accounts at most 1.3x the time of 3 sequential imports in one account.

    python bench/accounts_scale.py [--accounts 20] [--seconds-per-import 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from served import serve_sandbox

from reconciler.sandbox.worlds import AccountWorld, account_world, hook

DAYS = 3
FILES_PER_DAY = 24  # account_world writes one file per hour


def write_manifest(folder: Path, worlds: list[AccountWorld]) -> str:
    lines = ["version: 1", "accounts:"]
    lines += [f'  "{w.account}": {{role_arn: "{w.access_role_arn}"}}' for w in worlds]
    lines.append("imports:")
    for world in worlds:
        for day in range(5, 5 + DAYS):
            lines += [
                f"  - name: a{world.account}-jan-{day:02d}",
                f"    destination: {world.store_arn}",
                f"    source: {{uri: '{world.source_uri}', bucket_region: us-east-1, "
                f"role_arn: '{world.import_role_arn}'}}",
                f"    start_event_time: 2026-01-{day:02d}T00:00:00Z",
                f"    end_event_time: 2026-01-{day:02d}T23:59:59Z",
            ]
    folder.mkdir(parents=True)
    (folder / "imports.yaml").write_text("\n".join(lines) + "\n")
    return str(folder)


def timed_apply(paths: str, state: Path, endpoint: str, parallelism: int) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", paths, "--state", str(state),
         "--endpoint-url", endpoint, "--auto-approve", "--wait", "--poll-interval", "0.25",
         "--parallelism", str(parallelism), "--no-color"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(
            f"apply failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--seconds-per-import", type=float, default=4.0)
    args = parser.parse_args()
    speed = FILES_PER_DAY / args.seconds_per_import
    process, endpoint = serve_sandbox("--speed", str(speed), "--init-seconds", "0")
    try:
        hook(endpoint, "reset", {"seed": True})
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            single = [account_world(endpoint, "900000000000", days=DAYS)]
            many = [
                account_world(endpoint, f"{910000000000 + index}", days=DAYS)
                for index in range(args.accounts)
            ]
            one = timed_apply(write_manifest(root / "one", single), root / "one.json", endpoint, 1)
            all_ = timed_apply(
                write_manifest(root / "many", many), root / "many.json", endpoint, args.accounts
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"each import ~{args.seconds_per_import:.1f} s in the sandbox ({speed:.1f} files/s)\n")
    print(f"{'run':<40} {'imports':>8} {'seconds':>8}")
    print(f"{'1 account x 3 sequential imports':<40} {3:>8} {one:>8.1f}")
    print(
        f"{f'{args.accounts} accounts x 3 queued imports':<40} {3 * args.accounts:>8} {all_:>8.1f}"
    )
    print(f"\nratio: {all_ / one:.2f}x (target <= 1.30)")


if __name__ == "__main__":
    main()
