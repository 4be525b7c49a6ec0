"""The command-line edge: global options, the `reconcile` group, and exit-code mapping.

Every command is a few lines: parse flags, call one core function, map the result to an exit
code. Heavy modules (pydantic, boto3, rich, deepdiff) are imported inside the command that needs
them, so `reconcile --help` costs little more than importing click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from reconciler import __version__
from reconciler.cli.options import (
    F,
    GlobalSettings,
    format_options,
    global_options,
    global_settings,
    output_format,
    preflight_options,
    shard_option,
    start_options,
    state_option,
    timing_options,
)
from reconciler.errors import ExitCode, ReconcileError

__all__ = [
    "COMMANDS",
    "EXIT_CODES_HELP",
    "F",
    "GlobalSettings",
    "connections",
    "emit_json",
    "emit_plan_json",
    "execute",
    "format_options",
    "global_options",
    "global_settings",
    "main",
    "open_state_store",
    "open_store",
    "output_format",
    "preflight_options",
    "print_problems",
    "render",
    "run",
    "shard_option",
    "start_options",
    "state_option",
    "timing_options",
]

EXIT_CODES_HELP = """\b
Exit codes:
  0    success (with plan --detailed-exitcode: nothing to do)
  1    any error, usage errors included
  2    plan --detailed-exitcode: changes pending
  3    attention needed
  4    apply --wait stopped at --wait-timeout with work left
  130  interrupted (state is left valid)
"""

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.aws.accounts import Connections
    from reconciler.aws.session import ClientFactory
    from reconciler.plan.types import Plan
    from reconciler.state.store import StateStore


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# Every command, with the first line of its help. Modules are imported only for the command
# that runs (or whose --help is asked): `reconcile --help` then costs little more than click.
# tests/test_cli_validate.py checks these summaries against the commands' own help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "adopt": (
        "reconciler.cli.adopt_cmds",
        "adopt",
        "Write manifest YAML for imports that already exist (made in the console or the CLI).",
    ),
    "apply": (
        "reconciler.cli.apply_cmds",
        "apply",
        "Start new imports, retry failed ones, and never start the same import twice.",
    ),
    "demo": (
        "reconciler.cli.demo_cmds",
        "demo",
        "Show the whole job in under a minute, with no AWS account.",
    ),
    "failures": (
        "reconciler.cli.status_cmds",
        "failures",
        "List every failure (ListImportFailures, all pages) of the import recorded as NAME.",
    ),
    "plan": (
        "reconciler.cli.plan_cmds",
        "plan",
        "Show what apply would do: read manifests, state and AWS; change nothing.",
    ),
    "sandbox": (
        "reconciler.cli.sandbox_cmds",
        "sandbox",
        "A local CloudTrail Lake (with imports) on moto, for demos and tests.",
    ),
    "schema": (
        "reconciler.cli.validate_cmds",
        "schema",
        "Print the manifest JSON Schema (draft-07).",
    ),
    "show": (
        "reconciler.cli.plan_cmds",
        "show",
        "Render a saved plan (from `plan --out`) as text, --json or --markdown.",
    ),
    "state": (
        "reconciler.cli.state_cmds",
        "state_group",
        "Inspect and repair the state file by hand.",
    ),
    "status": (
        "reconciler.cli.status_cmds",
        "status",
        "Show live progress of the imports recorded in state (all, or the NAMEs given).",
    ),
    "validate": (
        "reconciler.cli.validate_cmds",
        "validate",
        "Check manifests: syntax, fields, names, ranges, overlaps; --online: AWS too.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        import importlib

        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="reconcile")
@global_options
def main() -> None:
    """Declarative management of CloudTrail Lake imports.

    Commit YAML manifests of the imports you want; `reconcile plan` shows what would change and
    `reconcile apply` starts new imports, retries failed ones, and never starts the same import
    twice.

    \b
    Start here:
      reconcile validate manifests/      check manifests offline
      reconcile schema > schema.json     JSON Schema for editor completion
    """


def print_problems(problems: Sequence[Any], color: bool) -> None:
    for problem in problems:
        where = click.style(problem.location() + ":", bold=True)
        field = click.style(f" {problem.field}:", fg="yellow") if problem.field else ""
        click.echo(f"{where}{field} {problem.message}", err=True, color=color)
    click.echo(f"{len(problems)} problem(s) found.", err=True)


def open_state_store(location: str, factory: ClientFactory | None = None) -> StateStore:
    """The store for a location as `resolve_state_location` returns it (chosen here, at the
    composition root: the store interface knows neither implementation).

    `s3://bucket/key` is the S3 store; its client comes from `factory` (the run's, built from
    the global options; without one, boto3's defaults). Anything else is a local path.
    """
    from reconciler.state.store import parse_s3_location

    if location.startswith("s3://"):
        bucket, key = parse_s3_location(location)
        from reconciler.aws.session import ClientFactory
        from reconciler.aws.statestore_s3 import S3StateStore

        factory = factory or ClientFactory()
        return S3StateStore(bucket, key, factory, factory.region)
    from reconciler.state.local import LocalStateStore

    return LocalStateStore(location)


def open_store(state_location: str | None) -> StateStore:
    """The state store named by --state / RECONCILE_STATE; s3:// uses the run's AWS settings."""
    from reconciler.state.store import resolve_state_location

    location = resolve_state_location(state_location)
    if not location.startswith("s3://"):
        return open_state_store(location)
    from reconciler.aws.session import ClientFactory

    settings = global_settings(click.get_current_context())
    factory = ClientFactory(
        settings.profile,
        settings.region,
        settings.endpoint_url,
        options=settings.client_options(),
    )
    return open_state_store(location, factory)


def connections(settings: GlobalSettings) -> Connections:
    """The run's AWS connections: per account, readers for plan and writers for apply."""
    from reconciler.aws.accounts import Connections

    return Connections(
        settings.profile,
        settings.region,
        settings.endpoint_url,
        options=settings.client_options(),
    )


def emit_json(settings: GlobalSettings, document: Any) -> None:
    """Print a JSON document (a str of JSON, or data), filtered by --query when given."""
    import json

    if settings.query is None and isinstance(document, str):
        click.echo(document)  # already JSON: no second parse of a 10,000-action plan
        return
    data = json.loads(document) if isinstance(document, str) else document
    if settings.query is not None:
        import jmespath

        data = jmespath.search(settings.query, data)
    click.echo(json.dumps(data, indent=2))


def emit_plan_json(settings: GlobalSettings, plan: Plan) -> None:
    """The plan's JSON document on stdout: streamed, unless --query filters it."""
    if settings.query is not None:
        emit_json(settings, render(plan, "json", False))
        return
    from reconciler.render.json_doc import write_json

    write_json(plan, sys.stdout)


def render(plan: Plan, fmt: str, color: bool) -> str:
    from reconciler.render import render_json, render_markdown, render_text

    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("RECONCILE_DEBUG", "") not in ("", "0")


def _error(message: str) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)


def execute(args: Sequence[str], *, interrupted_hint: bool = True) -> int:
    """Run one command line; every outcome becomes a pinned exit code (DESIGN.md)."""
    args = list(args)
    debug = _debug_requested(args)
    try:
        result = main.main(args=args, prog_name="reconcile", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        if interrupted_hint:
            click.echo(
                "\nInterrupted; state is left valid. Run the command again to continue.", err=True
            )
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        if debug:
            raise
        # Click's usage errors would exit 2, which DESIGN.md reserves for "changes pending".
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" Run '{exc.ctx.command_path} --help' for usage."
        _error(f"{exc.format_message()}{hint}")
        return ExitCode.ERROR
    except ReconcileError as exc:
        if debug:
            raise
        _error(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`reconcile plan | head`): nothing left to say to it.
        sys.stderr.close()
        return ExitCode.ERROR
    except Exception as exc:
        if debug:
            raise
        _error(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in reconcile; "
            "run again with --debug for the traceback and report it."
        )
        return ExitCode.ERROR
    return int(result) if isinstance(result, int) else ExitCode.OK


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point."""
    sys.exit(execute(sys.argv[1:] if argv is None else argv))
