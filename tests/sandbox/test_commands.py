"""`reconcile sandbox stats` and `serve` (a real process: ready line, clean stop)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from reconciler.cli.sandbox_cmds import sandbox
from reconciler.sandbox import seed
from tests.conftest import SandboxClient
from tests.sandbox.helpers import start, wait_finished


def test_stats_reports_duplicates(clean_sandbox: SandboxClient) -> None:
    ct = clean_sandbox.client("cloudtrail")
    for _ in range(2):
        wait_finished(
            ct,
            start(ct, uri=seed.SINGLE_ACCOUNT_URI + "CloudTrail/us-east-1/2026/01/05/")["ImportId"],
        )
    runner = CliRunner()
    as_json = runner.invoke(
        sandbox, ["stats", "--endpoint-url", clean_sandbox.endpoint_url, "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    stores = {row["name"]: row for row in json.loads(as_json.output)["stores"]}
    management = stores[seed.MANAGEMENT_STORE_NAME]
    assert management["events_ingested"] == 2 * 24 * 2 * 5
    assert management["event_ids_ingested_more_than_once"] == 24 * 2 * 5
    table = runner.invoke(sandbox, ["stats", "--endpoint-url", clean_sandbox.endpoint_url])
    [row] = [
        line.split() for line in table.output.splitlines() if seed.MANAGEMENT_STORE_NAME in line
    ]
    assert row == ["480", "240", "240", "us-east-1", seed.MANAGEMENT_STORE_NAME]


def test_stats_unreachable_is_a_clean_error() -> None:
    result = CliRunner().invoke(sandbox, ["stats", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot read" in result.output


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_serve_prints_ready_line_and_stops_cleanly(signum: int, code: int) -> None:
    command = [
        sys.executable,
        "-m",
        "reconciler.cli.sandbox_cmds",
        "serve",
        "--port",
        "0",
        "--seed",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert ready.startswith("Sandbox ready at http://127.0.0.1:")
        seeded = [process.stdout.readline() for _ in range(9)]
        assert any(seed.MANAGEMENT_STORE_ARN in line for line in seeded)
        process.send_signal(signum)
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code
    assert "Traceback" not in err


def test_stats_bring_running_imports_up_to_date(clean_sandbox: SandboxClient) -> None:
    clean_sandbox.config(init_seconds=0.0, speed=2000.0)
    start(clean_sandbox.client("cloudtrail"))
    time.sleep(0.4)  # nobody calls GetImport: the stats hook itself advances the import
    assert clean_sandbox.stats()[seed.MANAGEMENT_STORE_ARN]["events_ingested"] == 1440
