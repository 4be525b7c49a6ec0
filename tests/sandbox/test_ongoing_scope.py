"""One ongoing import per account across Regions by default (`ongoing_scope`), with lazy
progress: another Region's imports are advanced before they count as ongoing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import seed
from reconciler.sandbox.worlds import _session_in, account_world
from tests.conftest import SandboxClient
from tests.sandbox.helpers import SINGLE, error_code, source, start, wait_finished

ABSENT_ROLE = "arn:aws:iam::123456789012:role/absent"
FIRST_HOUR = {
    "StartEventTime": datetime(2026, 1, 5, tzinfo=UTC),
    "EndEventTime": datetime(2026, 1, 5, 0, 59, tzinfo=UTC),
}
CRAWL = 0.01  # files per second: an import of a few files stays ongoing for minutes


def _refusal(call: Callable[[], Any]) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        call()
    assert error_code(excinfo) == "AccountHasOngoingImportException"
    return excinfo.value


def _west_start(sandbox: SandboxClient) -> Callable[[], dict[str, Any]]:
    west = sandbox.client("cloudtrail", "us-west-2")
    return lambda: west.start_import(
        Destinations=[seed.WEST_STORE_ARN], ImportSource=source(SINGLE), **FIRST_HOUR
    )


def test_refusal_names_the_region_of_the_ongoing_import(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(speed=CRAWL)
    running = start(fidelity_sandbox.client("cloudtrail"), **FIRST_HOUR)["ImportId"]
    refused = _refusal(_west_start(fidelity_sandbox))
    message = refused.response["Error"]["Message"]
    assert running in message and "us-east-1" in message


def test_other_regions_imports_are_advanced_before_they_count(
    fidelity_sandbox: SandboxClient,
) -> None:
    fidelity_sandbox.config(speed=CRAWL)
    east = fidelity_sandbox.client("cloudtrail")
    first = start(east, **FIRST_HOUR)["ImportId"]
    _refusal(_west_start(fidelity_sandbox))
    # The pace is read on every advance: at this speed the east import is long due to have
    # finished. Nobody reads it in between, so the west StartImport must advance it itself.
    fidelity_sandbox.config(speed=1e9)
    assert _west_start(fidelity_sandbox)()["ImportStatus"] == "INITIALIZING"
    assert east.get_import(ImportId=first)["ImportStatus"] == "COMPLETED"


def test_a_retry_is_ongoing_in_every_region(fidelity_sandbox: SandboxClient) -> None:
    east = fidelity_sandbox.client("cloudtrail")
    failed = start(east, role=ABSENT_ROLE, **FIRST_HOUR)["ImportId"]
    assert wait_finished(east, failed)["ImportStatus"] == "FAILED"
    fidelity_sandbox.config(speed=CRAWL)
    west_import = _west_start(fidelity_sandbox)()["ImportId"]
    _refusal(lambda: east.start_import(ImportId=failed))  # a west import holds the retry back
    fidelity_sandbox.client("cloudtrail", "us-west-2").stop_import(ImportId=west_import)
    assert east.start_import(ImportId=failed)["ImportStatus"] == "INITIALIZING"
    _refusal(_west_start(fidelity_sandbox))  # and the running retry holds the west one back


def test_other_accounts_are_not_held_back(fidelity_sandbox: SandboxClient) -> None:
    member = account_world(fidelity_sandbox.endpoint_url, "333344445555")
    fidelity_sandbox.config(speed=CRAWL)
    start(fidelity_sandbox.client("cloudtrail"), **FIRST_HOUR)
    cloudtrail = _session_in(fidelity_sandbox.endpoint_url, member.account, member.region).client(
        "cloudtrail", endpoint_url=fidelity_sandbox.endpoint_url
    )
    started = cloudtrail.start_import(
        Destinations=[member.store_arn],
        ImportSource=source(member.source_uri, role=member.import_role_arn),
    )
    assert started["ImportStatus"] == "INITIALIZING"


def test_region_scope_lets_each_region_run_one(fidelity_sandbox: SandboxClient) -> None:
    fidelity_sandbox.config(speed=CRAWL, ongoing_scope="region")
    east = fidelity_sandbox.client("cloudtrail")
    start(east, **FIRST_HOUR)
    assert _west_start(fidelity_sandbox)()["ImportStatus"] == "INITIALIZING"
    _refusal(_west_start(fidelity_sandbox))
    _refusal(lambda: start(east, **FIRST_HOUR))
