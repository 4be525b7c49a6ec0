"""The command-line edge: global options, the `reconcile` group, and exit-code mapping.

Every command is a few lines: parse flags, call one core function, map the result to an exit
code. Heavy modules (pydantic, boto3, rich, deepdiff) are imported inside the command that needs
them, so `reconcile --help` costs little more than importing click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import click

from reconciler import __version__
from reconciler.errors import ExitCode, ReconcileError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0    success (with plan --detailed-exitcode: nothing to do)
  1    any error, usage errors included
  2    plan --detailed-exitcode: changes pending
  3    attention needed
  4    apply --wait stopped at --wait-timeout with work left
  130  interrupted (state is left valid)
"""


@dataclass
class GlobalSettings:
    """Options accepted by every command, before or after the subcommand name."""

    debug: bool = False
    color: str = "auto"
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None

    def use_color(self, stream: Any) -> bool:
        if self.color == "on":
            return True
        if self.color == "off" or os.environ.get("NO_COLOR"):
            return False
        return bool(getattr(stream, "isatty", lambda: False)())


def global_settings(ctx: click.Context) -> GlobalSettings:
    root = ctx.find_root()
    settings = root.meta.get("reconcile.settings")
    if settings is None:
        settings = root.meta["reconcile.settings"] = GlobalSettings()
    assert isinstance(settings, GlobalSettings)
    return settings


def _store(field: str, transform: Callable[[Any], Any] = lambda value: value) -> Any:
    """A click callback that records a global option, ignoring it when not given."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        source = ctx.get_parameter_source(param.name or "")
        if source in (None, click.core.ParameterSource.DEFAULT) and not value:
            return
        setattr(global_settings(ctx), field, transform(value))

    return callback


def global_options(func: F) -> F:
    """Attach the global options, so `reconcile plan --debug` and `reconcile --debug plan` agree."""
    options = [
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            callback=_store("debug"),
            help="Show full tracebacks and log AWS calls.",
        ),
        click.option(
            "--color",
            type=click.Choice(["on", "off", "auto"]),
            default=None,
            expose_value=False,
            callback=_store("color"),
            help="Colour output: on, off, or auto (only on a terminal; NO_COLOR is honoured).",
        ),
        click.option(
            "--no-color",
            is_flag=True,
            expose_value=False,
            callback=_store("color", lambda _: "off"),
            help="Same as --color off.",
        ),
        click.option(
            "--region",
            metavar="REGION",
            expose_value=False,
            callback=_store("region"),
            help="Default Region for commands that have no ARN to take it from.",
        ),
        click.option(
            "--endpoint-url",
            metavar="URL",
            expose_value=False,
            callback=_store("endpoint_url"),
            help="Send AWS calls to this endpoint (for example the sandbox).",
        ),
        click.option(
            "--profile",
            metavar="NAME",
            expose_value=False,
            callback=_store("profile"),
            help="Use this named profile from the AWS shared config files.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
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


def state_option(func: F) -> F:
    return click.option(
        "--state",
        "state_location",
        metavar="PATH",
        help="State file (default: $RECONCILE_STATE, else .reconcile/state.json).",
    )(func)


def timing_options(func: F) -> F:
    """--retry-backoff and --pending-grace: the planner's two clocks, shared by plan and apply."""
    func = click.option(
        "--pending-grace",
        type=click.FloatRange(min=0),
        default=600,
        show_default=True,
        metavar="SECONDS",
        help="How long an unanswered StartImport blocks its queue while its import may still "
        "appear; after that it counts as never having reached AWS.",
    )(func)
    return click.option(
        "--retry-backoff",
        type=click.FloatRange(min=0),
        default=60,
        show_default=True,
        metavar="SECONDS",
        help="Wait this long after a failure before a retry; doubles per attempt, at most an hour.",
    )(func)


def print_problems(problems: Sequence[Any], color: bool) -> None:
    for problem in problems:
        where = click.style(problem.location() + ":", bold=True)
        field = click.style(f" {problem.field}:", fg="yellow") if problem.field else ""
        click.echo(f"{where}{field} {problem.message}", err=True, color=color)
    click.echo(f"{len(problems)} problem(s) found.", err=True)


def open_store(state_location: str | None) -> Any:
    """The state store named by --state / RECONCILE_STATE; s3:// uses the run's AWS settings."""
    from reconciler.statestore import open_state_store, resolve_state_location

    location = resolve_state_location(state_location)
    if not location.startswith("s3://"):
        return open_state_store(location)
    from reconciler.aws.session import ClientFactory

    settings = global_settings(click.get_current_context())
    return open_state_store(
        location, ClientFactory(settings.profile, settings.region, settings.endpoint_url)
    )


def connections(settings: GlobalSettings) -> Any:
    """The run's AWS connections: per account, readers for plan and writers for apply."""
    from reconciler.aws.accounts import Connections

    return Connections(settings.profile, settings.region, settings.endpoint_url)


def readers(settings: GlobalSettings) -> Callable[[str], Any]:
    """Readers per account with the run's own credentials (for commands without manifests)."""
    return connections(settings).reader  # type: ignore[no-any-return]


def shard_option(func: F) -> F:
    return click.option(
        "--shard",
        metavar="I/N",
        callback=_parse_shard,
        help="Only the accounts of shard I of N (stable by account ID), for CI fan-out; "
        "give each shard its own --state.",
    )(func)


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from reconciler.planner import Shard

    try:
        index_text, count_text = value.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise click.BadParameter("expected I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise click.BadParameter(f"I must be between 1 and N; got {value}")
    return Shard(index, count)


def render(plan: Any, fmt: str, color: bool) -> str:
    from reconciler.render import render_json, render_markdown, render_text

    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)


def output_format(as_json: bool, as_markdown: bool) -> str:
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    return "json" if as_json else "markdown" if as_markdown else "text"


def format_options(func: F) -> F:
    func = click.option(
        "--markdown", "as_markdown", is_flag=True, help="Markdown for pull-request comments."
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="The plan as JSON data.")(func)


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("RECONCILE_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point: run the command and turn every outcome into a pinned exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result = main.main(args=args, prog_name="reconcile", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo(
            "\nInterrupted; state is left valid. Run the command again to continue.", err=True
        )
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        if debug:
            raise
        # Click's usage errors would exit 2, which DESIGN.md reserves for "changes pending".
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" Run '{exc.ctx.command_path} --help' for usage."
        _fail(f"{exc.format_message()}{hint}")
    except ReconcileError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`reconcile plan | head`): nothing left to say to it.
        sys.stderr.close()
        sys.exit(ExitCode.ERROR)
    except Exception as exc:
        if debug:
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in reconcile; "
            "run again with --debug for the traceback and report it."
        )
    sys.exit(int(result) if isinstance(result, int) else ExitCode.OK)
