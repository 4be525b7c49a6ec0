"""The `echo` setting: imports echo Destinations, S3LocationUri and the times exactly as sent
(default) or normalised; either way the import itself is the one sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import SandboxClient
from tests.sandbox.helpers import SINGLE, STORE, check_shape, start, wait_finished

FIRST = datetime(2026, 1, 5, tzinfo=UTC)
LAST = datetime(2026, 1, 5, 0, 59, tzinfo=UTC)
STORE_ID = STORE.split("eventdatastore/", 1)[1]
HOUR_FILES = 4  # 00:05 and 00:32, two Regions


def _echo(response: dict[str, Any]) -> tuple[Any, ...]:
    s3 = response["ImportSource"]["S3"]
    return (
        response["Destinations"], s3["S3LocationUri"],
        response["StartEventTime"], response["EndEventTime"],
    )  # fmt: skip


def _listed_destinations(ct: Any, import_id: str) -> list[str]:
    imports = ct.list_imports(Destination=STORE)["Imports"]  # the filter still takes the ARN
    [item] = [item for item in imports if item["ImportId"] == import_id]
    return list(item["Destinations"])


def _run(ct: Any, uri: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """StartImport, GetImport once finished, and StopImport (of the finished import)."""
    started = start(ct, uri=uri, StartEventTime=FIRST, EndEventTime=LAST)
    done = wait_finished(ct, started["ImportId"])
    stopped = ct.stop_import(ImportId=started["ImportId"])
    for operation, response in (("StartImport", started), ("GetImport", done),
                                ("StopImport", stopped)):  # fmt: skip
        check_shape(ct, operation, response)
    assert done["ImportStatistics"]["FilesCompleted"] == HOUR_FILES  # read as sent
    return started, done, stopped


def test_exact_echo_is_the_default(fidelity_sandbox: SandboxClient) -> None:
    ct = fidelity_sandbox.client("cloudtrail")
    for uri in (SINGLE, SINGLE.rstrip("/")):
        for response in _run(ct, uri):
            assert _echo(response) == ([STORE], uri, FIRST, LAST)
            assert response["EndEventTime"].microsecond == 0
        assert _listed_destinations(ct, response["ImportId"]) == [STORE]


def test_normalised_echo(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(echo="normalised")
    ct = fidelity_sandbox.client("cloudtrail")
    last_millisecond = LAST.replace(microsecond=999_000)
    for sent, echoed in ((SINGLE, SINGLE.rstrip("/")), (SINGLE.rstrip("/"), SINGLE)):
        for response in _run(ct, sent):
            assert _echo(response) == ([STORE_ID], echoed, FIRST, last_millisecond)
        assert _listed_destinations(ct, response["ImportId"]) == [STORE_ID]


def test_normalised_echo_without_times(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(echo="normalised")
    ct = fidelity_sandbox.client("cloudtrail")
    started = start(ct, uri="s3://reconcile-demo-trail")
    assert "StartEventTime" not in started and "EndEventTime" not in started
    assert started["ImportSource"]["S3"]["S3LocationUri"] == "s3://reconcile-demo-trail/"
    assert wait_finished(ct, started["ImportId"])["ImportStatistics"]["FilesCompleted"] > 0
