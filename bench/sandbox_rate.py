"""Calls per second for GetImport and ListImports against the sandbox.

    python bench/sandbox_rate.py                      # starts an in-process sandbox
    python bench/sandbox_rate.py --endpoint-url URL   # a running `reconcile sandbox serve`

In-process, client and server share one interpreter (and its GIL), so a separate server
process is the fairer figure. The sandbox holds 10,000 bulk-inserted imports.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from reconciler.sandbox.seed import MANAGEMENT_STORE_ARN as STORE


def rate(call: Callable[[], Any], seconds: float) -> tuple[float, int]:
    call()  # warm up
    count, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        call()
        count += 1
    return count / elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--imports", type=int, default=10_000)
    args = parser.parse_args()
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)

    handle = None
    endpoint = args.endpoint_url
    if endpoint is None:
        from reconciler.sandbox.server import start_sandbox

        handle = start_sandbox(port=0, seed=True)
        endpoint = handle.endpoint_url
    body = json.dumps({"count": args.imports, "destination": STORE}).encode()
    began = time.perf_counter()
    with urllib.request.urlopen(f"{endpoint}/_reconcile/bulk-imports", data=body) as response:
        ids = json.load(response)["ImportIds"]
    print(f"bulk insert of {len(ids)} imports: {time.perf_counter() - began:.3f} s (HTTP included)")

    from reconciler.aws.session import ClientFactory

    client = ClientFactory(region="us-east-1", endpoint_url=endpoint).cloudtrail()
    measures = {
        "GetImport": lambda: client.get_import(ImportId=ids[-1]),
        "ListImports (MaxResults 50)": lambda: client.list_imports(MaxResults=50),
        "ListImports (MaxResults 1000)": lambda: client.list_imports(MaxResults=1000),
        "ListImports (Destination+ImportStatus filter, 1000)": lambda: client.list_imports(
            Destination=STORE, ImportStatus="COMPLETED", MaxResults=1000
        ),
    }
    where = "in-process" if handle else endpoint
    print(f"sandbox: {where}; {args.seconds:.0f} s per measure")
    for label, call in measures.items():
        per_second, count = rate(call, args.seconds)
        print(f"{label:<52} {per_second:8.1f} calls/s  ({count} calls)")
    if handle is not None:
        handle.stop()


if __name__ == "__main__":
    main()
