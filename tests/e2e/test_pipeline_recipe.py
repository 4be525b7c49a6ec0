"""The CI recipes in examples/ run as written, against the sandbox with the state in S3.

The `reconcile ...` command lines are taken from the GitHub Actions workflow itself (its
`run:` blocks, shell variables filled in from a table) and run in-process, job by job, in the
order the workflow runs them: the pull request's plan job, then the apply job on main twice.
AWS_ENDPOINT_URL points boto3 at the sandbox, so the commands need no test-only flag, and
CI=true is set, so nothing may prompt. The other tests check that every command line of both
recipes uses only options `reconcile <command> --help` lists, and that the pre-commit hooks
parse.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

ROOT = Path(__file__).parents[2]
EXAMPLES = str(ROOT / "manifests" / "examples")
GITHUB = ROOT / "examples" / "github-actions" / "reconcile.yml"
GITLAB = ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
MARKER = "<!-- reconcile-plan -->"
BUCKET, KEY = "ci-reconcile-state", "cloudtrail-lake/prod/state.json"
# Shell operators that end the reconcile command on a line (`|| code=$?`, `> plan.md`).
_OPERATORS = frozenset({"||", "&&", "|", ";", ">", ">>", "&", "2>", "2>&1"})
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def shell_lines(script: str) -> Iterator[str]:
    """Logical lines of a shell script: backslash continuations joined."""
    pending = ""
    for line in script.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def reconcile_commands(script: str) -> list[list[str]]:
    """The argv (without `reconcile`) of every line of `script` that runs reconcile."""
    commands = []
    for line in shell_lines(script):
        if not re.match(r"\s*reconcile\s", line):
            continue  # comments, heredocs and everything else
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        argv: list[str] = []
        for token in list(lexer)[1:]:
            if token in _OPERATORS:
                break
            argv.append(token)
        commands.append(argv)
    return commands


def github_jobs() -> dict[str, list[list[str]]]:
    workflow = yaml.safe_load(GITHUB.read_text())
    return {
        name: [
            command
            for step in job["steps"]
            if "run" in step
            for command in reconcile_commands(step["run"])
        ]
        for name, job in workflow["jobs"].items()
    }


def gitlab_jobs() -> dict[str, list[list[str]]]:
    pipeline = yaml.safe_load(GITLAB.read_text())
    jobs: dict[str, list[list[str]]] = {}
    for name, job in pipeline.items():
        if not isinstance(job, dict) or name in ("workflow", "variables"):
            continue
        scripts = [*job.get("before_script", []), *job.get("script", [])]
        jobs[name] = [c for script in scripts for c in reconcile_commands(script)]
    return jobs


def fill(argv: list[str], values: dict[str, str]) -> list[str]:
    """Shell variables replaced by the test's values; an unknown one fails the test."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"the recipe uses ${name}; give the test a value for it"
        return values[name]

    return [_VARIABLE.sub(value, token) for token in argv]


def help_options(command: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    code, out, _ = invoke([command, "--help"], capsys)
    assert code == 0
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", out))


@pytest.fixture
def recipe_env(
    clean_sandbox: SandboxClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The CI environment: boto3 sent to the sandbox, CI=true, an S3 state bucket."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", clean_sandbox.endpoint_url)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)  # as on a runner
    clean_sandbox.client("s3").create_bucket(Bucket=BUCKET)
    return {
        "MANIFESTS": EXAMPLES,
        "RECONCILE_STATE": f"s3://{BUCKET}/{KEY}",
        "WAIT_TIMEOUT": "120",
        "POLL_INTERVAL": "0.05",  # the recipe polls every 30 s; the sandbox is faster
        "LOCK_TIMEOUT": "5",
    }


def run_job(
    commands: list[list[str]],
    values: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> dict[str, tuple[int, str, str]]:
    """Runs a job's reconcile commands in order, as its shell steps do: apply only when the
    plan before it found something to do (its exit code was not 0)."""
    results: dict[str, tuple[int, str, str]] = {}
    for argv in commands:
        if argv[0] == "apply" and results["plan"][0] == 0:
            continue
        results[argv[0]] = invoke(fill(argv, values), capsys)
        assert results[argv[0]][0] in (0, 2), (argv, results[argv[0]])
    return results


def recipe_jobs(recipe: str) -> tuple[list[list[str]], list[list[str]]]:
    """The reconcile commands of the recipe's merge/pull request pipeline, and of main's."""
    if recipe == "github":
        jobs = github_jobs()
        return jobs["plan"], jobs["apply"]
    jobs = gitlab_jobs()
    return jobs["validate"] + jobs["plan"], jobs["apply"]


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_recipe_pull_request_then_merge_then_nothing_to_do(
    recipe: str, recipe_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pull_request, main = recipe_jobs(recipe)
    assert [argv[0] for argv in pull_request] == ["validate", "plan", "show"]
    assert [argv[0] for argv in main if argv[0] != "show"] == ["validate", "plan", "apply"]

    # The pull request: validate, plan --out --detailed-exitcode (2: changes), markdown.
    pr_plan = tmp_path / "pr" / "plan.bin"
    pr_plan.parent.mkdir()
    pr = run_job(pull_request, {**recipe_env, "PLAN_FILE": str(pr_plan)}, capsys)
    assert pr["validate"][0] == 0
    assert pr["plan"][0] == 2, pr["plan"]
    assert "Plan: 1 to create, 3 queued." in pr["plan"][1]
    assert pr_plan.exists()
    code, markdown, _ = pr["show"]
    assert code == 0
    assert "| Action | Name |" in markdown and "demo-account-2026-01-05" in markdown
    assert MARKER not in markdown  # the workflow adds its own marker exactly once
    assert len(markdown) < 65_000  # fits a GitHub comment with the marker and a headline

    # The merge: plan again from main, apply that saved plan with --wait: all COMPLETED.
    merge_plan = tmp_path / "merge" / "plan.bin"
    merge_plan.parent.mkdir()
    merge = run_job(main, {**recipe_env, "PLAN_FILE": str(merge_plan)}, capsys)
    assert merge["plan"][0] == 2
    code, out, err = merge["apply"]
    assert code == 0, err
    assert "Apply finished" in out

    # The pull request's plan is stale now (the state serial moved): apply refuses it, which
    # is why the recipe plans again on main instead of applying the PR's artifact.
    code, _, err = invoke(
        [
            "apply",
            "--plan",
            str(pr_plan),
            "--auto-approve",
            "--state",
            recipe_env["RECONCILE_STATE"],
        ],
        capsys,
    )
    assert code == 1 and "Traceback" not in err
    assert "is stale" in err and "Nothing was applied" in err, err

    # A second run on main: nothing to do, apply skipped.
    again_plan = tmp_path / "again" / "plan.bin"
    again_plan.parent.mkdir()
    again = run_job(main, {**recipe_env, "PLAN_FILE": str(again_plan)}, capsys)
    assert again["plan"][0] == 0, again["plan"]
    assert "apply" not in again
    assert "Plan: 4 unchanged." in again["plan"][1]


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_recipe_command_lines_use_only_documented_options(
    recipe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = github_jobs() if recipe == "github" else gitlab_jobs()
    commands = [argv for job in jobs.values() for argv in job]
    assert {argv[0] for argv in commands} == {"validate", "plan", "show", "apply"}
    known: dict[str, set[str]] = {}
    for argv in commands:
        subcommand = argv[0]
        if subcommand not in known:
            known[subcommand] = help_options(subcommand, capsys)
        used = {token.split("=", 1)[0] for token in argv[1:] if token.startswith("--")}
        assert used <= known[subcommand], (argv, used - known[subcommand])
    plans = [argv for argv in commands if argv[0] == "plan"]
    assert plans and all({"--out", "--detailed-exitcode", "--state"} <= set(p) for p in plans)
    applies = [argv for argv in commands if argv[0] == "apply"]
    assert applies and all({"--plan", "--auto-approve", "--state"} <= set(a) for a in applies)


def test_both_recipes_parse_and_mark_their_plan_comment() -> None:
    workflow: dict[Any, Any] = yaml.safe_load(GITHUB.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    apply_job = workflow["jobs"]["apply"]
    assert apply_job["concurrency"]["cancel-in-progress"] is False
    assert set(workflow["jobs"]["plan"]["permissions"]) == {
        "id-token",
        "contents",
        "pull-requests",
    }
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert "resource_group" in pipeline["apply"]
    for path in (GITHUB, GITLAB):
        assert MARKER in path.read_text()


def test_pre_commit_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"reconcile-validate", "reconcile-validate-all"}
    assert hooks["reconcile-validate"]["pass_filenames"] is True
    assert hooks["reconcile-validate-all"]["pass_filenames"] is False
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert shlex.split(hook["entry"])[:2] == ["reconcile", "validate"]
    # The files pattern picks this repository's manifests, and the entry accepts them.
    pattern = re.compile(hooks["reconcile-validate"]["files"])
    changed = sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "manifests").rglob("*") if path.is_file()
    )
    matched = [name for name in changed if pattern.search(name)]
    assert matched and all(name.endswith((".yaml", ".yml", ".json")) for name in matched)
    entry = shlex.split(hooks["reconcile-validate"]["entry"], comments=True)
    code, _, err = invoke([*entry[1:], *(str(ROOT / name) for name in matched)], capsys)
    assert code == 0, err


STUB = """#!/bin/sh
# reconcile stand-in: exits with $STUB_<command> (default 0)
eval "code=\\${STUB_$1:-0}"
echo "reconcile $*"
exit "$code"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("plan_code", "apply_code", "job_code", "applied"),
    [(0, 0, 0, False), (1, 0, 1, False), (2, 0, 0, True), (2, 4, 0, True), (3, 3, 3, True),
     (2, 1, 1, True)],
)  # fmt: skip
def test_recipe_shell_steps_map_exit_codes(
    tmp_path: Path, plan_code: int, apply_code: int, job_code: int, applied: bool
) -> None:
    """The main-branch shell steps of both recipes, with a stand-in `reconcile`: changes are
    applied, nothing-to-do skips apply, 4 (wait timeout) passes, 3 fails (GitHub:
    FAIL_ON_ATTENTION; GitLab: an allowed failure), errors fail."""
    stub = tmp_path / "reconcile"
    stub.write_text(STUB)
    stub.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "STUB_plan": str(plan_code),
        "STUB_apply": str(apply_code),
    }
    workflow = yaml.safe_load(GITHUB.read_text())
    job = workflow["jobs"]["apply"]
    steps = {step.get("id", step.get("name")): step for step in job["steps"]}
    env.update({k: str(v) for k, v in job["env"].items()})
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
    # GitHub: the plan step, then the apply step when the plan's exit code was not 0.
    result = subprocess.run([*bash, steps["plan"]["run"]], env=env, capture_output=True)
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().split())
    github_applied = False
    if result.returncode == 0 and outputs["exitcode"] != "0":
        result = subprocess.run(
            [*bash, steps["Apply the saved plan"]["run"]], env=env, capture_output=True
        )
        github_applied = True
    assert (result.returncode, github_applied) == (job_code, applied)
    # GitLab: the job's script items run in one shell.
    pipeline = yaml.safe_load(GITLAB.read_text())
    script = "\n".join(pipeline["apply"]["script"][1:])  # after writing the OIDC token
    result = subprocess.run([*bash, script], env=env, capture_output=True, text=True)
    assert (result.returncode, "reconcile apply" in result.stdout) == (job_code, applied)
    assert pipeline["apply"]["allow_failure"] == {"exit_codes": [3]}
