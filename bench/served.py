"""Start `reconcile sandbox serve` in its own process for a benchmark, and find its URL."""

from __future__ import annotations

import re
import subprocess
import sys


def serve_sandbox(*options: str) -> tuple[subprocess.Popen[str], str]:
    """(process, endpoint URL) of a sandbox on a free port; stop it with process.terminate()."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1)
    raise SystemExit("the sandbox did not start")
