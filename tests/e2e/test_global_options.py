"""The AWS CLI's global options reach boto3 and the output, before or after the subcommand."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from reconciler.cli import main
from reconciler.cli.app import connections
from reconciler.cli.options import global_settings
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

EXAMPLES = str(Path(__file__).parents[2] / "manifests" / "examples")


def settings_for(args: list[str]) -> object:
    """Parse a command line the way `reconcile` does and return its global settings."""
    with main.make_context("reconcile", list(args)) as ctx:
        words = [*ctx._protected_args, *ctx.args]  # the subcommand and what follows it
        sub, rest = words[0], words[1:]
        command = main.get_command(ctx, sub)
        assert isinstance(command, click.Command)
        with command.make_context(sub, rest, parent=ctx):
            return global_settings(ctx)


def test_profile_from_a_shared_config_file(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The profile alone brings the endpoint, Region and keys: it really is what boto3 used."""
    config = tmp_path / "config"
    config.write_text(
        f"[profile lake-sandbox]\nregion = us-east-1\nendpoint_url = {clean_sandbox.endpoint_url}\n"
    )
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[lake-sandbox]\naws_access_key_id = from-profile\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    state = str(tmp_path / "s.json")
    code, out, err = invoke(
        ["plan", EXAMPLES, "--state", state, "--profile", "lake-sandbox"], capsys
    )
    assert code == 0, err
    assert "Plan: 1 to create, 3 queued." in out
    code, out, err = invoke(["plan", EXAMPLES, "--state", state, "--profile", "nope"], capsys)
    assert code == 1  # no account could be reached: an error, not a plan
    assert "profile 'nope' is not in the shared config" in err
    assert "Traceback" not in err


def test_aws_endpoint_url_environment_variable_is_honoured(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", clean_sandbox.endpoint_url)
    code, out, err = invoke(["plan", EXAMPLES, "--state", str(tmp_path / "s.json")], capsys)
    assert code == 0, err
    assert "Plan: 1 to create, 3 queued." in out


def test_query_filters_json_output(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--state", str(tmp_path / "s.json"), "--endpoint-url", clean_sandbox.endpoint_url]
    code, out, _ = invoke(["plan", EXAMPLES, *common, "--query", "summary.create"], capsys)
    assert (code, json.loads(out)) == (0, 1)
    code, out, _ = invoke(
        ["--query", "actions[?action=='queued'].name", "plan", EXAMPLES, *common], capsys
    )
    assert json.loads(out) == [
        "demo-organization-first-days",
        "demo-account-2026-01-05",
        "demo-account-2026-01-06",
    ]
    code, out, _ = invoke(["validate", EXAMPLES, "--query", "imports"], capsys)
    assert json.loads(out) == 4
    code, _, err = invoke(["validate", EXAMPLES, "--query", "[[["], capsys)
    assert code == 1 and "not a JMESPath expression" in err


def test_tls_and_timeout_options_reach_the_clients(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = settings_for(
        ["plan", "--ca-bundle", str(bundle), "--cli-read-timeout", "7", "--cli-connect-timeout",
         "3", "--region", "us-west-2", "--endpoint-url", "https://127.0.0.1:1"]
    )  # fmt: skip
    client = connections(settings).base.cloudtrail()  # type: ignore[arg-type]
    assert client.meta.config.read_timeout == 7
    assert client.meta.config.connect_timeout == 3
    assert client.meta.region_name == "us-west-2"
    assert client._endpoint.http_session._verify == str(bundle)
    settings = settings_for(["--no-verify-ssl", "status", "--cli-read-timeout", "0"])
    client = connections(settings).base.cloudtrail()  # type: ignore[arg-type]
    assert client._endpoint.http_session._verify is False
    assert client.meta.config.read_timeout >= 1e8  # 0: wait forever, as the AWS CLI


def test_missing_ca_bundle_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["plan", "--ca-bundle", "/nonexistent/ca.pem"], capsys)
    assert code == 1 and "ca.pem" in err


def test_no_input_from_ci_and_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert settings_for(["plan"]).no_input is True  # type: ignore[attr-defined]
    monkeypatch.setenv("CI", "false")
    assert settings_for(["plan"]).no_input is False  # type: ignore[attr-defined]
    assert settings_for(["plan", "--no-input"]).no_input is True  # type: ignore[attr-defined]
