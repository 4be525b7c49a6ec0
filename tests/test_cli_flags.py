"""Typos are usage errors that name the flag or field, never "internal error" (issue 13)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import invoke

# (command line, what the error must name)
BAD_FLAGS = [
    (["plan", "--endpoint-url", "127.0.0.1:5555"], "--endpoint-url"),
    (["plan", "--endpoint-url", "notaurl"], "--endpoint-url"),
    (["plan", "--endpoint-url", "http://127.0.0.1:99999"], "--endpoint-url"),
    (["plan", "--region", "no such!"], "--region"),
    (["plan", "--retry-backoff", "inf"], "--retry-backoff"),
    (["plan", "--retry-backoff", "7200"], "--retry-backoff"),
    (["plan", "--pending-grace", "nan"], "--pending-grace"),
    (["plan", "--cli-read-timeout", "inf"], "--cli-read-timeout"),
    (["plan", "--cli-connect-timeout", "-1"], "--cli-connect-timeout"),
    (["apply", "--wait-timeout", "nan"], "--wait-timeout"),
    (["apply", "--wait-timeout", "1e99"], "--wait-timeout"),
    (["apply", "--lock-timeout", "inf"], "--lock-timeout"),
    (["apply", "--poll-interval", "0"], "--poll-interval"),
    (["apply", "--parallelism", "100000"], "--parallelism"),
    (["state", "rm", "x", "--lock-timeout", "nan"], "--lock-timeout"),
    (["sandbox", "serve", "--speed", "nan"], "--speed"),
    (["sandbox", "serve", "--port", "70000"], "--port"),
    (["sandbox", "serve", "--latency", "inf"], "--latency"),
    (["demo", "--speed", "inf"], "--speed"),
    (["sandbox", "stats", "--endpoint-url", "foo"], "--endpoint-url"),
    (["adopt", "--region", "bad region!"], "--region"),
]


@pytest.mark.parametrize(("args", "names"), BAD_FLAGS)
def test_a_bad_flag_value_is_a_usage_error_naming_it(
    args: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(args, capsys)
    assert code == 1 and names in err
    assert "internal error" not in err and "Traceback" not in err


def _manifest(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("version: 1\nimports:\n  - name: a\n    retry: {max_attempts: " + "9" * 5000 + "}\n",
         "m.yaml:4:"),
        ("version: true\nimports: []\n", "version: must be the number 1, not true"),
        ("version: 1.0\nimports: []\n", "version: must be the number 1, not 1.0"),
    ],
)  # fmt: skip
def test_bad_manifest_values_are_problems_with_a_position(
    tmp_path: Path, text: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(["validate", _manifest(tmp_path, text)], capsys)
    assert code == 1 and says in err and "internal error" not in err


def test_a_fifo_is_refused_as_a_manifest_and_as_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    code, _, err = invoke(["validate", str(fifo)], capsys)
    assert code == 1 and "not a regular file" in err
    code, _, err = invoke(["state", "list", "--state", str(fifo)], capsys)
    assert code == 1 and "not a regular file" in err


def test_validate_json_is_json_even_when_nothing_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    code, out, _ = invoke(["validate", "--json", str(tmp_path / "missing")], capsys)
    assert code == 1 and json.loads(out)["valid"] is False


def test_a_new_state_folder_is_private_whatever_the_umask(tmp_path: Path) -> None:
    from reconciler.state.document import StateDocument
    from reconciler.state.local import LocalStateStore

    old = os.umask(0o022)
    try:
        store = LocalStateStore(tmp_path / "fresh" / "state.json")
        with store.lock("test"):
            store.write(StateDocument.empty())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700


def test_without_moto_the_sandbox_says_which_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['moto.server'] = None\n"
        "from reconciler.cli.app import execute\n"
        "sys.exit(execute(['sandbox', 'serve', '--port', '0']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert "pip install 'reconcile[sandbox]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_never_prints_secrets() -> None:
    from reconciler.cli.options import redact

    line = (
        "{'X-Amz-Security-Token': b'FQoGZXIvYXdzEXAMPLE', 'Authorization': b'AWS4-HMAC-SHA256 "
        "Credential=AKIDEXAMPLE/20261202/us-east-1/sts/aws4_request, SignedHeaders=host, "
        "Signature=0123456789abcdef'} <SessionToken>tok</SessionToken>"
    )
    shown = redact(line)
    assert "FQoGZXIvYXdzEXAMPLE" not in shown and "0123456789abcdef" not in shown
    assert "tok<" not in shown and "Credential=AKIDEXAMPLE" in shown
    others = (
        "Signature:\n0123456789abcdef0123 {'WebIdentityToken': 'eyJhbGciOiJSUzI1NiJ9.oidc'} "
        "'x-amz-sso_bearer_token': b'ssotoken123' {\"secretAccessKey\": \"camelSecret\", "
        '"accessToken": "ssoAccess", "refreshToken": "ssoRefresh"}'
    )
    shown = redact(others)
    for secret in ("0123456789abcdef0123", "eyJhbGciOiJSUzI1NiJ9", "ssotoken123", "camelSecret",
                   "ssoAccess", "ssoRefresh"):  # fmt: skip
        assert secret not in shown, shown


COMMANDS = [
    ["validate"], ["plan"], ["show"], ["apply"], ["status"], ["failures"], ["state", "list"],
    ["state", "show"], ["state", "history"], ["state", "mv"], ["state", "rm"],
    ["state", "resolve"], ["state", "force-unlock"], ["adopt"], ["schema"], ["demo"],
    ["sandbox", "serve"], ["sandbox", "stats"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_help_has_examples_kept_as_written(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = invoke([*command, "--help"], capsys)
    assert code == 0 and "\\b" not in out
    examples = out.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(
        line.startswith("    reconcile ") or line.startswith("    RECONCILE_") for line in examples
    ), examples


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"format_version": True}, "format_version"),
        ({"serial": -5}, "serial"),
        ({"serial": True}, "serial"),
        ({"record": {"import_id": 5}}, "import_id"),
        ({"record": {"final": "yes"}}, "final"),
    ],
)
def test_state_values_of_the_wrong_type_are_refused(
    tmp_path: Path, change: dict[str, object], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    record = {
        "manifest_file": "m.yaml",
        "identity": {"destination": "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x",
                     "source_uri": "s3://b", "start": None, "end": None},
        "attributes": {"bucket_region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/r",
                       "retry": {"max_attempts": 3, "stopped": False}},
        "spec_hash": "0" * 64,
        **change.pop("record", {}),  # type: ignore[dict-item]
    }  # fmt: skip
    document = {"format_version": 1, "lineage": "l", "serial": 1, "imports": {"a": record}}
    document.update(change)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    code, _, err = invoke(["state", "list", "--state", str(path)], capsys)
    assert code == 1 and says in err and "internal error" not in err


def test_a_source_uri_longer_than_s3_allows_is_refused_briefly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "s3://bucket/" + "a" * 7_000_000
    text = (
        "version: 1\nimports:\n  - name: a\n"
        "    destination: arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x\n"
        f"    source: {{uri: '{uri}', bucket_region: us-east-1,\n"
        "             role_arn: 'arn:aws:iam::123456789012:role/r'}\n"
    )
    code, _, err = invoke(["validate", _manifest(tmp_path, text)], capsys)
    assert code == 1 and "too long" in err and len(err) < 2_000


def test_a_start_that_never_connected_is_refused_not_unknown() -> None:
    """Nothing was sent, so nothing can have started: no intent left to wait out."""
    import socket

    from reconciler.aws.session import ClientFactory
    from reconciler.aws.writer import LakeWriter
    from reconciler.outcomes import StartResult
    from reconciler.ports import StartRequest

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    writer = LakeWriter(ClientFactory(region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}"))
    outcome = writer.start_import(
        StartRequest(region="us-east-1", import_id="0b5c4a3e-1111-2222-3333-444455556666")
    )
    assert outcome.kind is StartResult.REFUSED and outcome.code == "EndpointConnectionError"


def test_overlap_advice_never_edits_an_entry_that_has_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fix for an overlap changes the entry that has not started: changing a started
    entry's range changes its identity (that needs --replace, and re-imports its events)."""
    import json

    store = (
        "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/"
        "0b5c4a3e-1111-2222-3333-444455556666"
    )
    role = "arn:aws:iam::123456789012:role/r"
    source = f"{{uri: s3://trail-bucket, bucket_region: us-east-1, role_arn: '{role}'}}"
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(
        "version: 1\nimports:\n"
        f"  - name: early\n    destination: {store}\n    source: {source}\n"
        "    start_event_time: 2024-01-01T00:00:00Z\n    end_event_time: 2024-06-30T23:59:59Z\n"
        f"  - name: late\n    destination: {store}\n    source: {source}\n"
        "    start_event_time: 2024-06-01T00:00:00Z\n    end_event_time: 2024-12-31T23:59:59Z\n"
    )
    record = {
        "manifest_file": str(manifests / "a.yaml"),
        "identity": {"destination": store, "source_uri": "s3://trail-bucket",
                     "start": "2024-06-01T00:00:00Z", "end": "2024-12-31T23:59:59Z"},
        "attributes": {"bucket_region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/r",
                       "retry": {"max_attempts": 3, "stopped": False}},
        "spec_hash": "0" * 64, "import_id": "11111111-1111-4111-8111-111111111111",
    }  # fmt: skip
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps({"format_version": 1, "lineage": "l", "serial": 1, "imports": {"late": record}})
    )
    _, _, neutral = invoke(["validate", str(manifests)], capsys)
    assert "end 'early' at 2024-05-31T23:59:59Z or start 'late' at 2024-07-01T00:00:00Z" in neutral
    code, _, err = invoke(["validate", str(manifests), "--state", str(state)], capsys)
    assert code == 1 and "end 'early' at 2024-05-31T23:59:59Z (it has not started yet)" in err
    assert "start 'late'" not in err


def test_an_endpoint_that_refuses_connections_fails_at_once() -> None:
    """One connection attempt answers it (botocore alone would retry ten times with backoff,
    about 10 s): the message is the probe's, so no retry ran."""
    import socket

    from reconciler.aws.accounts import Connections
    from reconciler.errors import CloudError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connections = Connections(region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(CloudError, match="the connection was refused"):
        connections.reader("123456789012")
