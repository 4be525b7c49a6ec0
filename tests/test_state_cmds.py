"""`reconcile status`, `reconcile failures` and `reconcile state ...`, run in-process."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.lake import AwsCallError
from reconciler.aws.session import ClientFactory
from reconciler.cli import status_cmds
from reconciler.sandbox import seed
from reconciler.spec import Identity
from reconciler.state.document import Attempt, ImportRecord, Intent, StateDocument
from reconciler.state.local import LocalStateStore
from reconciler.state.store import LockInfo
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.sandbox.helpers import start, wait_finished

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
MANIFEST = "manifests/demo.yaml"
FAILED_ID = "22222222-2222-4222-8222-222222222222"


def record(name: str, **fields: Any) -> ImportRecord:
    base = ImportRecord(
        name=name,
        manifest_file=MANIFEST,
        identity=Identity(seed.MANAGEMENT_STORE_ARN, seed.SINGLE_ACCOUNT_URI, None, None),
        bucket_region=seed.BUCKET_REGION,
        role_arn=seed.ROLE_ARN,
        max_attempts=3,
        retry_stopped=False,
        spec_hash="0" * 64,
    )
    return replace(base, **fields)


def write_state(path: Path, *records: ImportRecord) -> StateDocument:
    store = LocalStateStore(path)
    with store.lock("test setup"):
        document = store.read()
        return store.write(document.with_records({r.name: r for r in records}))


def read_state(path: Path) -> StateDocument:
    return LocalStateStore(path).read()


def sample_records() -> list[ImportRecord]:
    done = record(
        "done",
        import_id="11111111-1111-4111-8111-111111111111",
        status="COMPLETED",
        final=True,
        statistics={"FilesCompleted": 288, "EventsCompleted": 1440, "FailedEntries": 0},
        attempts=(Attempt(T0, "create", "started", "11111111-1111-4111-8111-111111111111"),),
        updated_at=T0,
    )
    failed = record(
        "failed-one",
        import_id=FAILED_ID,
        status="FAILED",
        attempts=(
            Attempt(T0, "create", "refused", None, "AccountHasOngoingImportException"),
            Attempt(T0.replace(hour=13), "create", "started", FAILED_ID),
            Attempt(T0.replace(hour=14), "retry", "started", FAILED_ID),
        ),
        next_retry_at=T0.replace(hour=15),
        intent=Intent("retry", T0.replace(hour=16), FAILED_ID),
    )  # fmt: skip
    pending = record("pending-one", intent=Intent("create", T0))
    return [done, failed, pending]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    write_state(path, *sample_records())
    return path


# -- state list / show / history ------------------------------------------------------------


def test_state_list_text_and_json(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["state", "list", "--state", str(state), "--no-color"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "IMPORT", "ID", "MANIFEST"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["done", "COMPLETED"],
        ["failed-one", "FAILED"],
        ["pending-one", "PENDING"],
    ]
    assert lines[0].index("STATUS") == lines[1].index("COMPLETED")  # aligned columns
    assert "\x1b[" not in out
    code, out, _ = invoke(["state", "list", "--state", str(state), "--json"], capsys)
    listed = json.loads(out)
    assert [item["name"] for item in listed] == ["done", "failed-one", "pending-one"]
    assert set(listed[0]) == {
        "name", "status", "import_id", "manifest_file", "final", "intent", "updated_at",
    }  # fmt: skip
    assert listed[2]["status"] == "PENDING" and listed[2]["import_id"] is None
    code, out, _ = invoke(["state", "list", "--state", str(state), "--color", "on"], capsys)
    assert "\x1b[" in out


def test_state_list_of_missing_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["state", "list", "--state", str(tmp_path / "none.json")], capsys)
    assert code == 0
    assert "does not exist yet" in out
    code, out, _ = invoke(["state", "list", "--json", "--state", str(tmp_path / "n.json")], capsys)
    assert json.loads(out) == []


def test_state_show_is_the_record_as_json(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["state", "show", "failed-one", "--state", str(state)], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["name"] == "failed-one"
    assert shown == {"name": "failed-one", **read_state(state).imports["failed-one"].to_json()}


def test_state_history(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["state", "history", "failed-one", "--state", str(state)], capsys)
    assert code == 0
    assert "2 of 3 attempts used" in out  # the refusal does not count
    assert "AccountHasOngoingImportException" in out
    table = [line.split()[:3] for line in out.splitlines()[2:6]]
    assert table == [
        ["2026-01-10T12:00:00Z", "create", "refused"],
        ["2026-01-10T13:00:00Z", "create", "started"],
        ["2026-01-10T14:00:00Z", "retry", "started"],
        ["2026-01-10T16:00:00Z", "retry", "pending"],
    ]
    assert "Next retry not before 2026-01-10T15:00:00Z." in out
    code, out, _ = invoke(
        ["state", "history", "failed-one", "--json", "--state", str(state)], capsys
    )
    history = json.loads(out)
    assert history["attempts_counted"] == 2 and history["max_attempts"] == 3
    assert [row["outcome"] for row in history["history"]][-1] == "pending"
    assert history["next_retry_at"] == "2026-01-10T15:00:00Z"
    code, out, _ = invoke(["state", "history", "pending-one", "--state", str(state)], capsys)
    assert code == 0 and "create  pending" in out


# -- unknown names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["state", "show", "faild-one"],
        ["state", "history", "faild-one"],
        ["state", "mv", "faild-one", "other"],
        ["state", "rm", "faild-one"],
        ["status", "faild-one"],
        ["failures", "faild-one"],
    ],
)
def test_unknown_name_is_a_clear_error(
    state: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke([*args, "--state", str(state)], capsys)
    assert code == 1
    assert out == ""
    assert f"no import named faild-one in state {state}" in err
    assert "`reconcile state list` shows the names. Did you mean failed-one?" in err
    assert "Traceback" not in err
    assert read_state(state).serial == 1


def test_unknown_name_in_missing_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["state", "show", "x", "--state", str(tmp_path / "s.json")], capsys)
    assert code == 1
    assert "does not exist yet" in err


# -- mv / rm --------------------------------------------------------------------------------


def test_mv_moves_the_record_and_writes_once(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_state(state)
    code, out, _ = invoke(["state", "mv", "failed-one", "renamed", "--state", str(state)], capsys)
    assert code == 0, out
    assert "Moved failed-one to renamed" in out and MANIFEST in out
    after = read_state(state)
    assert after.serial == before.serial + 1 and after.lineage == before.lineage
    assert set(after.imports) == {"done", "renamed", "pending-one"}
    assert after.imports["renamed"] == replace(before.imports["failed-one"], name="renamed")
    assert Path(f"{state}.backup").exists()


def test_mv_onto_an_existing_name_is_refused(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(["state", "mv", "failed-one", "done", "--state", str(state)], capsys)
    assert code == 1
    assert "already has an import named done" in err and "nothing was changed" in err
    assert read_state(state).serial == 1
    code, _, err = invoke(["state", "mv", "done", "bad name", "--state", str(state)], capsys)
    assert code == 1 and "not a valid import name" in err
    code, _, err = invoke(["state", "mv", "done", "done", "--state", str(state)], capsys)
    assert code == 1 and "nothing to move" in err
    assert read_state(state).serial == 1


def test_rm_forgets_the_record(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["state", "rm", "done", "--state", str(state)], capsys)
    assert code == 0
    assert "stay in the Lake" in out and "adopts the import by its identity" in out
    assert "11111111-1111-4111-8111-111111111111" in out
    after = read_state(state)
    assert after.serial == 2 and set(after.imports) == {"failed-one", "pending-one"}


def test_changes_fail_fast_while_locked(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = LocalStateStore(state)
    with holder.lock("reconcile apply") as info:
        code, _, err = invoke(["state", "rm", "done", "--state", str(state)], capsys)
    assert code == 1
    assert "reconcile apply" in err and info.lock_id in err
    assert read_state(state).serial == 1


# -- force-unlock ---------------------------------------------------------------------------


def test_force_unlock(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = LocalStateStore(state)
    code, _, err = invoke(["state", "force-unlock", "nope", "--state", str(state)], capsys)
    assert code == 1 and "no lock holder recorded" in err
    with store.lock("reconcile apply") as info:
        code, _, err = invoke(["state", "force-unlock", "wrong", "--state", str(state)], capsys)
        assert code == 1 and f"locked with lock ID {info.lock_id}, not wrong" in err
        args = ["state", "force-unlock", info.lock_id, "--state", str(state)]
        code, _, err = invoke(args, capsys)
        assert code == 1 and "locked by a running process" in err
    # A holder that was killed leaves its record behind: that one can be removed.
    stale = LockInfo.new("reconcile apply")
    store.info_path.write_text(json.dumps(stale.to_json()))
    code, out, _ = invoke(["state", "force-unlock", stale.lock_id, "--state", str(state)], capsys)
    assert code == 0 and "Removed the lock held by" in out
    assert store.holder() is None


# -- status and failures against the sandbox ------------------------------------------------


class _Recording:
    """A cloudtrail client that counts calls and serves ListImportFailures in small pages."""

    def __init__(self, client: Any, calls: list[str]) -> None:
        self._client = client
        self._calls = calls

    def get_import(self, **kwargs: Any) -> Any:
        self._calls.append("GetImport")
        return self._client.get_import(**kwargs)

    def list_import_failures(self, **kwargs: Any) -> Any:
        self._calls.append("ListImportFailures")
        return self._client.list_import_failures(**{**kwargs, "MaxResults": 100})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = ClientFactory.cloudtrail

    def cloudtrail(self: ClientFactory, region: str | None = None) -> Any:
        return _Recording(original(self, region), calls)

    monkeypatch.setattr(ClientFactory, "cloudtrail", cloudtrail)
    return calls


def test_status_and_failures_of_a_failed_import(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    aws_calls: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ct = clean_sandbox.client("cloudtrail")
    # A role that does not exist fails every one of the 288 seeded trail files.
    import_id = start(ct, role="arn:aws:iam::123456789012:role/absent")["ImportId"]
    assert wait_finished(ct, import_id)["ImportStatus"] == "FAILED"
    records = sample_records()
    vanished = record("vanished", import_id=str(uuid.uuid4()), status="IN_PROGRESS")
    path = tmp_path / "state.json"
    write_state(path, records[0], replace(records[1], import_id=import_id), records[2], vanished)
    common = ["--state", str(path), "--endpoint-url", clean_sandbox.endpoint_url]

    code, out, err = invoke(["status", "--json", *common], capsys)
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    failed = rows["failed-one"]
    assert failed["status"] == "FAILED" and failed["import_id"] == import_id
    assert (failed["files_completed"], failed["failed_entries"]) == (0, 288)
    assert failed["live"] is True and failed["region"] == "us-east-1"
    assert failed["updated"].endswith("Z")
    assert rows["done"]["status"] == "COMPLETED" and rows["done"]["live"] is False
    assert rows["done"]["events_completed"] == 1440
    assert rows["pending-one"]["status"] == "PENDING" and rows["pending-one"]["import_id"] is None
    assert rows["vanished"]["status"] == "NOT_FOUND"
    # The final COMPLETED record and the pending intent need no call.
    assert aws_calls == ["GetImport", "GetImport"]

    code, out, _ = invoke(["status", "failed-one", "done", "--no-color", *common], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME", "IMPORT", "ID", "STATUS", "FILES", "EVENTS", "FAILED", "UPDATED", "REGION",
    ]  # fmt: skip
    assert lines[1].split()[:6] == ["failed-one", import_id, "FAILED", "0", "0", "288"]
    assert lines[2].split()[:5] == ["done", "11111111-1111-4111-8111-111111111111",
                                    "COMPLETED", "288", "1,440"]  # fmt: skip
    assert lines[0].index("REGION") == lines[1].index("us-east-1")

    aws_calls.clear()
    code, out, err = invoke(["failures", "failed-one", "--json", *common], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert document["import_id"] == import_id and document["count"] == 288
    assert len({f["location"] for f in document["failures"]}) == 288
    assert {f["error_type"] for f in document["failures"]} == {"AccessDenied"}
    assert aws_calls == ["ListImportFailures"] * 3  # pages of 100, 100, 88

    code, out, _ = invoke(["failures", "failed-one", "--no-color", *common], capsys)
    assert code == 0  # a report: failures are not an error
    assert out.startswith(f"288 failures of import failed-one (ImportId {import_id}, us-east-1):")
    assert out.splitlines()[1].split()[:4] == ["LOCATION", "STATUS", "ERROR", "TYPE"]
    assert "s3://reconcile-demo-trail/AWSLogs/123456789012/" in out

    code, _, err = invoke(["failures", "pending-one", *common], capsys)
    assert code == 1 and "has no ImportId yet" in err
    code, _, err = invoke(["failures", "vanished", *common], capsys)
    assert code == 1 and "has no such import" in err and "Traceback" not in err


def test_failures_none(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct = clean_sandbox.client("cloudtrail")
    import_id = start(
        ct,
        StartEventTime=datetime(2026, 1, 5, tzinfo=UTC),
        EndEventTime=datetime(2026, 1, 5, 0, 59, tzinfo=UTC),
    )["ImportId"]
    wait_finished(ct, import_id)
    path = tmp_path / "state.json"
    write_state(path, record("ok", import_id=import_id, status="COMPLETED"))
    common = ["--state", str(path), "--endpoint-url", clean_sandbox.endpoint_url]
    code, out, _ = invoke(["failures", "ok", *common], capsys)
    assert code == 0 and out.startswith("No failures recorded for import ok")
    code, out, _ = invoke(["status", "--json", *common], capsys)
    [row] = json.loads(out)
    assert (row["status"], row["files_completed"], row["live"]) == ("COMPLETED", 4, True)


class _DeniedReader:
    """A LakeReader stand-in whose every call is refused, as AWS would without permission."""

    def get_import(self, *args: Any) -> Any:
        raise AwsCallError(
            "GetImport failed: AccessDeniedException: not authorized",
            code="AccessDeniedException",
            operation="GetImport",
        )

    list_failures = get_import


def test_aws_errors_exit_1_without_traceback(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        status_cmds, "account_readers", lambda settings, manifests: lambda account: _DeniedReader()
    )
    for command in ("status", "failures"):
        code, out, err = invoke([command, "failed-one", "--state", str(state)], capsys)
        assert code == 1 and out == ""
        assert "AccessDeniedException: not authorized" in err and "Traceback" not in err


def test_status_of_empty_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["status", "--state", str(tmp_path / "s.json")], capsys)
    assert code == 0 and "does not exist yet" in out


def test_state_commands_cover_exports_in_the_shared_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.exportspec import ExportIdentity
    from reconciler.state.document import ExportRecordState

    path = tmp_path / "state.json"
    write_state(path, record("an-import", import_id="11111111-1111-4111-8111-111111111111"))
    store = LocalStateStore(path)
    export = ExportRecordState("cw", MANIFEST, ExportIdentity(seed.MANAGEMENT_STORE_ARN, T0, None),
                               seed.ROLE_ARN, import_id="task-1", status="COMPLETED")  # fmt: skip
    with store.lock("test setup"):
        store.write(store.read().with_exports({"cw": export}))
    common = ["--state", str(path)]

    code, out, _ = invoke(["state", "list", *common], capsys)
    assert code == 0 and "cw (export)" in out and "task-1" in out
    code, out, _ = invoke(["state", "list", "--json", *common], capsys)
    assert [row.get("kind", "import") for row in json.loads(out)] == ["import", "export"]
    code, out, _ = invoke(["state", "show", "cw", *common], capsys)
    assert json.loads(out)["kind"] == "export" and json.loads(out)["import_id"] == "task-1"

    code, _, err = invoke(["state", "mv", "cw", "an-import", *common], capsys)
    assert code == 1 and "names are shared" in err  # one namespace: refused, nothing changed
    code, _, err = invoke(["state", "mv", "an-import", "cw", *common], capsys)
    assert code == 1 and "names are shared" in err
    code, _, _ = invoke(["state", "mv", "cw", "cw-renamed", *common], capsys)
    assert code == 0 and list(read_state(path).exports) == ["cw-renamed"]
    assert read_state(path).exports["cw-renamed"].import_id == "task-1"

    code, out, _ = invoke(["state", "rm", "cw-renamed", *common], capsys)
    assert code == 0 and "stay in CloudWatch Logs" in " ".join(out.split())
    assert read_state(path).exports == {} and list(read_state(path).imports) == ["an-import"]
