"""`reconcile validate` and the CLI edge: exit codes, JSON output, defaults, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import invoke

CASES = Path(__file__).parent / "manifests"
REPO = Path(__file__).parent.parent


def test_valid_manifests_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(["validate", str(CASES / "valid")], capsys)
    assert (code, err) == (0, "")
    assert "6 manifest file(s), 13 import(s), 5 export(s): valid." in out


def test_invalid_manifest_exits_1_with_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["validate", str(CASES / "invalid" / "bad_values.yaml")], capsys)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 14  # 13 problems and the count
    assert lines[-1] == "13 problem(s) found."
    assert "bad_values.yaml:10:21: imports[0].end_event_time: epoch seconds" in err


def test_problems_from_several_files_in_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CASES / "invalid" / name) for name in ("empty.yaml", "version_2.yaml")]
    code, _, err = invoke(["validate", *files], capsys)
    assert code == 1
    assert "empty.yaml:1:1: file is empty" in err
    assert "version_2.yaml:1:10: version: must be 1" in err


def test_json_output_is_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(
        ["validate", "--json", str(CASES / "invalid" / "zoneless_time.yaml")], capsys
    )
    document = json.loads(out)
    assert code == 1
    assert document["valid"] is False
    assert [p["field"] for p in document["problems"]] == [
        "imports[0].start_event_time",
        "imports[0].end_event_time",
    ]
    assert document["problems"][0]["line"] == 9
    assert document["problems"][0]["column"] == 23
    assert "botocore would read it as UTC" in document["problems"][0]["message"]


def test_json_output_when_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["validate", "--json", str(CASES / "valid" / "api_shape.json")], capsys)
    document = json.loads(out)
    assert (code, document["valid"], document["imports"], document["problems"]) == (0, True, 2, [])


def test_default_path_is_manifests_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(["validate"], capsys)
    assert code == 1
    assert "manifests:1:1: no such file or directory" in err
    (tmp_path / "manifests" / "team").mkdir(parents=True)
    (tmp_path / "manifests" / "team" / "a.yml").write_text("version: 1\nimports: []\n")
    code, out, _ = invoke(["validate"], capsys)
    assert code == 0
    assert "1 manifest file(s), 0 import(s): valid." in out


def test_usage_errors_exit_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["validate", "--no-such-option"], capsys)
    assert code == 1
    assert "No such option" in err
    assert "reconcile validate --help" in err
    assert "Traceback" not in err


def test_global_options_work_before_and_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = str(CASES / "invalid" / "version_2.yaml")
    code, _, err = invoke(["--color", "on", "validate", bad], capsys)
    assert code == 1
    assert "\x1b[" in err  # coloured although stderr is not a terminal
    code, _, err = invoke(["validate", bad, "--color", "on", "--no-color"], capsys)
    assert code == 1
    assert "\x1b[" not in err
    assert "version_2.yaml:1:10: version: must be 1" in err
    monkeypatch.setenv("NO_COLOR", "1")
    _, _, err = invoke(["validate", bad, "--region", "us-east-1"], capsys)
    assert "\x1b[" not in err


def test_oversized_file_is_refused_without_parsing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"version: 1\n" + b"# padding\n" * 900_000)
    code, _, err = invoke(["validate", str(big)], capsys)
    assert code == 1
    assert "over the 8,388,608-byte limit" in err


def _modules_after(argv: list[str]) -> set[str]:
    script = (
        "import sys\n"
        "from reconciler.cli import run\n"
        "try:\n"
        f"    run({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('\\n' + ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(done.stderr.splitlines()[-1].split())


def test_help_imports_only_click() -> None:
    loaded = _modules_after(["--help"])
    heavy = {"boto3", "botocore", "pydantic", "rich", "deepdiff", "yaml"}
    assert heavy & loaded == set()
    assert "click" in loaded


def test_validate_makes_no_aws_import() -> None:
    loaded = _modules_after(["validate", str(CASES / "valid")])
    assert "pydantic" in loaded  # it did validate
    assert {"boto3", "botocore"} & loaded == set()


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(CASES / "invalid" / "empty.yaml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "file is empty" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--debug", "--bogus"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr


def test_lazy_command_list_matches_the_commands() -> None:
    """`reconcile --help` lists commands without importing them; the summaries must agree."""
    import click

    from reconciler.cli.app import COMMANDS, main

    with click.Context(main) as ctx:
        for name, (_, _, summary) in COMMANDS.items():
            command = main.get_command(ctx, name)
            assert command is not None and command.help is not None, name
            assert command.help.strip().splitlines()[0] == summary, name
