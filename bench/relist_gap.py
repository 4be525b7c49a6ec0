"""The last look before StartImport: how wide is the window a neighbour could slip into?

Starts `reconcile sandbox serve --latency 30` (every CloudTrail call takes 30 ms more, like a
real Region), fills the destination store with 200 finished imports nobody manages, and runs
apply (in this process, through the real adapter) for one new entry, twice: a first run with
an empty state (its plan describes the 200 imports once and apply caches them in state) and a
later run for a second entry (the cache answers). Each run reports its gap: from the answer
of the last ListImports to the StartImport request (`ApplyResult.start_gaps`).

For comparison, the same run measures the look the way apply made it before: ListImports,
then a GetImport for every unmanaged import in the store, then StartImport.

Target (issue 10): the gap well under half a second.

    python bench/relist_gap.py [--foreign 200] [--latency 30]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from served import serve_sandbox

from reconciler.apply.run import ApplyRequest, run_apply
from reconciler.apply.types import ApplyOptions
from reconciler.aws.accounts import Connections
from reconciler.plan.make import PlanRequest
from reconciler.sandbox import seed
from reconciler.sandbox.worlds import hook
from reconciler.state.local import LocalStateStore


class _Quiet:
    def message(self, name: str | None, text: str, *, error: bool = False) -> None:
        pass

    def progress(self, name: str, progress: Any) -> None:
        pass


def _manifest(folder: Path, days: list[int]) -> str:
    lines = ["version: 1", "imports:"]
    for day in days:
        lines += [
            f"  - name: jan-{day:02d}",
            f"    destination: {seed.MANAGEMENT_STORE_ARN}",
            f"    source: {{uri: '{seed.SINGLE_ACCOUNT_URI}', bucket_region: us-east-1, "
            f"role_arn: '{seed.ROLE_ARN}'}}",
            f"    start_event_time: 2026-01-{day:02d}T00:00:00Z",
            f"    end_event_time: 2026-01-{day:02d}T23:59:59Z",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "imports.yaml").write_text("\n".join(lines) + "\n")
    return str(folder)


def _apply(endpoint: str, paths: str, state: Path) -> tuple[float, dict[str, int]]:
    connections = Connections(region="us-east-1", endpoint_url=endpoint)
    result = run_apply(
        ApplyRequest(PlanRequest(paths=(paths,))),
        LocalStateStore(state),
        connections,
        ApplyOptions(poll_interval=0.2),
        show=lambda plan: None,
        confirm=lambda plan: True,
        events=_Quiet(),
        stop=threading.Event(),
    )
    [gap] = result.start_gaps
    return gap, dict(connections.reader(seed.ACCOUNT).calls)


def _old_look(endpoint: str) -> float:
    """ListImports, then GetImport for each import in the store: the look before this issue."""
    connections = Connections(region="us-east-1", endpoint_url=endpoint)
    reader = connections.reader(seed.ACCOUNT)
    listed = reader.list_imports("us-east-1", seed.MANAGEMENT_STORE_ARN)
    began = time.perf_counter()  # the old gap opened with the list's answer
    for item in listed:
        reader.get_import("us-east-1", item.import_id)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--foreign", type=int, default=200)
    parser.add_argument("--latency", type=float, default=30.0, help="ms per CloudTrail call")
    args = parser.parse_args()
    process, endpoint = serve_sandbox(
        "--seed", "--latency", str(args.latency), "--speed", "2000", "--init-seconds", "0"
    )
    try:
        hook(endpoint, "bulk-imports", {
            "count": args.foreign, "destination": seed.MANAGEMENT_STORE_ARN,
            "start_event_time": "2020-01-01T00:00:00Z", "end_event_time": "2020-01-31T23:59:59Z",
        })  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            state = Path(folder) / "state.json"
            first_gap, first_calls = _apply(endpoint, _manifest(Path(folder) / "a", [5]), state)
            time.sleep(0.5)  # let jan-05 finish, so the next start is not refused as ongoing
            later_gap, later_calls = _apply(endpoint, _manifest(Path(folder) / "a", [5, 6]), state)
        old = _old_look(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"store: {args.foreign} finished foreign imports, {args.latency:.0f} ms per call")
    print(f"{'run':<34}{'gap ms':>9}{'GetImport':>11}{'ListImports':>13}")
    for label, gap, calls in (
        ("first (empty state, cache filled)", first_gap, first_calls),
        ("later (cache answers)", later_gap, later_calls),
    ):
        print(
            f"{label:<34}{gap * 1000:>9.1f}{calls.get('GetImport', 0):>11}"
            f"{calls.get('ListImports', 0):>13}"
        )
    print(f"{'old: GetImport each after the list':<34}{old * 1000:>9.1f}{args.foreign:>11}{1:>13}")
    print(f"old gap / new gap (later run): {old / later_gap:,.0f}x")
    print(
        "(the gap is ours alone: the StartImport request still takes its one-way network "
        "time to reach AWS, about half a call's latency)"
    )


if __name__ == "__main__":
    main()
