"""`reconcile apply`: the plan, a confirmation, then the imports, with progress."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from reconciler import defaults
from reconciler.cli.app import (
    EXIT_CODES_HELP,
    GlobalSettings,
    global_options,
    global_settings,
    open_store,
    preflight_options,
    print_problems,
    shard_option,
    start_options,
    state_option,
    timing_options,
)
from reconciler.cli.options import FiniteFloat
from reconciler.errors import ExitCode

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.apply.types import ApplyResult
    from reconciler.cli.options import PreflightFlags
    from reconciler.plan.desired import Shard
    from reconciler.plan.types import Plan, Progress


class ProgressEvents:
    """Draws apply's progress: bars on a terminal (rich), plain lines otherwise."""

    def __init__(self, settings: GlobalSettings, quiet_stdout: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        stream = sys.stderr if quiet_stdout else sys.stdout
        color = settings.use_color(stream)
        self.console = Console(
            file=stream, highlight=False, no_color=not color, force_terminal=color or None
        )
        self.errors = Console(
            file=sys.stderr,
            highlight=False,
            no_color=not settings.use_color(sys.stderr),
            style="red" if settings.use_color(sys.stderr) else None,
        )
        self.live = self.console.is_terminal
        self.bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        # Off a terminal (CI logs): one line per event, progress at most every
        # PROGRESS_LOG_SECONDS or PROGRESS_LOG_STEP of the prefixes, and each final status.
        self.logged: dict[str, tuple[float, float, str]] = {}  # name -> (time, share, status)
        self.final: dict[str, Progress] = {}
        self.printed: set[str] = set()  # event lines, so the summary does not repeat them

    def __enter__(self) -> ProgressEvents:
        if self.live:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.bars.stop()

    def message(self, name: str | None, text: str, *, error: bool = False) -> None:
        line = f"{name}: {text}" if name else text
        with self._lock:
            if error:  # on stderr, once: the summary does not repeat it
                self.printed.add(line)
                self.errors.print(f"Error: {line}", markup=False, soft_wrap=True)
            else:
                self.console.print(line, markup=False, soft_wrap=True)

    def progress(self, name: str, progress: Progress) -> None:
        if not self.live:
            self._log(name, progress)
            return
        found = progress.prefixes_found or 0
        done = progress.prefixes_completed or 0
        detail = (
            f"{progress.status}  {progress.files_completed or 0:,} files  "
            f"{progress.events_completed or 0:,} events"
        )
        if progress.failed_entries:
            detail += f"  {progress.failed_entries:,} failed"
        with self._lock:
            if name not in self.tasks:
                self.tasks[name] = self.bars.add_task(name, total=found or None, detail=detail)
            finished = progress.status in ("COMPLETED", "FAILED", "STOPPED")
            self.bars.update(
                self.tasks[name],
                total=found or (1 if finished else None),
                completed=found if finished and found else (1 if finished else done),
                detail=detail,
            )

    def _log(self, name: str, progress: Progress) -> None:
        finished = progress.status in FINAL_STATUSES
        found = progress.prefixes_found or 0
        share = (progress.prefixes_completed or 0) / found if found else 0.0
        now = time.monotonic()
        with self._lock:
            if finished:
                if name in self.final:
                    return
                self.final[name] = progress
            else:
                self.final.pop(name, None)  # retried in this run: its last end is what counts
                last = self.logged.get(name)
                if last is not None:
                    at, logged_share, status = last
                    due = status != progress.status
                    due = due or now - at >= defaults.PROGRESS_LOG_SECONDS
                    if not (due or share - logged_share >= defaults.PROGRESS_LOG_STEP):
                        return
            self.logged[name] = (now, share, progress.status)
            line = f"{name}: {progress_line(progress)}"
            self.console.print(line, markup=False, soft_wrap=True)


FINAL_STATUSES = ("COMPLETED", "FAILED", "STOPPED")


def progress_line(progress: Progress) -> str:
    """`IN_PROGRESS 3 of 10 prefixes (30%), 1,200 files, 48,311 events, 2 failed`."""
    parts = [progress.status]
    found = progress.prefixes_found or 0
    if found:
        done = progress.prefixes_completed or 0
        parts.append(f"{done:,} of {found:,} prefixes ({100 * done // found}%),")
    parts.append(f"{progress.files_completed or 0:,} files,")
    parts.append(f"{progress.events_completed or 0:,} events")
    if progress.failed_entries:
        parts[-1] += ","
        parts.append(f"{progress.failed_entries:,} failed")
    return " ".join(parts)


def _confirm(plan: Plan, auto_approve: bool, no_input: bool) -> bool:
    if auto_approve:
        return True
    if no_input or not sys.stdin.isatty():
        from reconciler.errors import UsageError

        raise UsageError(
            "apply needs a confirmation, and there is no terminal to ask on. Review the plan, "
            "then run again with --auto-approve (in CI: apply a saved plan with "
            "`reconcile apply --plan FILE --auto-approve`)."
        )
    answer = click.prompt(
        "\nDo you want to apply these changes? Only 'yes' will be accepted",
        default="",
        show_default=False,
    )
    return bool(answer.strip() == "yes")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) stops apply like Ctrl-C: state stays valid."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--plan", "plan_file", metavar="PLANFILE", help="Apply exactly this saved plan.")
@click.option(
    "--refuse-if-changed",
    is_flag=True,
    help="With --plan: refuse when the manifests changed since the plan was made (by default "
    "apply says what changed and applies the plan as reviewed, as terraform does).",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--wait",
    is_flag=True,
    help="Wait for imports and exports, starting queued ones in turn (exports once the imports"
    " into their store are in).",
)
@click.option(
    "--wait-timeout",
    type=FiniteFloat(0, defaults.MAX_WAIT_TIMEOUT_SECONDS),
    metavar="SECONDS",
    help="Give up waiting after this long (exit 4); 0 waits forever (the default), at most "
    f"{defaults.MAX_WAIT_TIMEOUT_SECONDS // 86400} days.",
)
@click.option("--target", "targets", multiple=True, metavar="NAME", help="Apply only this entry.")
@click.option(
    "--replace",
    "replace",
    multiple=True,
    metavar="NAME",
    help="Start a new import for this entry although its identity changed or its import vanished; "
    "for an export, a new task over the range of one that FAILED, was CANCELLED or vanished "
    "(the plan says how many events it copies a second time).",
)
@click.option(
    "--stop-removed", is_flag=True, help="Stop running imports whose entries were removed."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan with each action's outcome as JSON."
)
@click.option(
    "--lock-timeout",
    type=FiniteFloat(0, defaults.MAX_LOCK_TIMEOUT_SECONDS),
    default=defaults.LOCK_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for the state lock.",
)
@click.option(
    "--poll-interval",
    type=FiniteFloat(0.05, defaults.MAX_POLL_INTERVAL_SECONDS),
    default=defaults.POLL_INTERVAL_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="How often --wait polls GetImport.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=defaults.MAX_PARALLELISM),
    default=defaults.PARALLELISM,
    show_default=True,
    metavar="N",
    help="Queues (accounts, or accounts and Regions with --queue-scope region) worked on at "
    "once; each has at most one import running.",
)
@timing_options
@start_options
@preflight_options
@shard_option
@state_option
@global_options
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    plan_file: str | None,
    refuse_if_changed: bool,
    auto_approve: bool,
    wait: bool,
    wait_timeout: float | None,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    stop_removed: bool,
    as_json: bool,
    lock_timeout: float,
    retry_backoff: float,
    pending_grace: float,
    retry: tuple[str, ...],
    queue_scope: str,
    preflight: PreflightFlags,
    parallelism: int,
    shard: Shard | None,
    poll_interval: float,
    state_location: str | None,
) -> ExitCode:
    """Start new imports, retry failed ones, and never start the same import twice.

    Apply prints the plan, asks for confirmation (on a terminal; elsewhere pass
    --auto-approve), then carries it out: at most one import at a time per account (or per
    account and Region with --queue-scope region). Without --wait it starts what may start
    and exits; run it again to continue (each run is one step). With --wait it follows the
    imports with progress bars and starts each queued import in turn, until all are done or
    --wait-timeout. It starts only entries the plan showed as starting (create, retry,
    replace, queued, pending), and their retries. The plan runs preflight first (as `reconcile
    plan` does): a start with an error finding, or a run over --max-cost, starts nothing.

    Before every StartImport the intent is written to state, and the store is listed once
    more: an import with the same identity is adopted, one that overlaps what the store holds
    stops the start. An unanswered StartImport is never sent again blindly.

    Exports (CloudWatch Logs import tasks) run after the imports under the same rules: the
    intent first, the Region's tasks listed again, then one CreateImportTask (never retried);
    --wait follows them batch by batch, --stop-removed cancels a removed export's task. A
    saved plan (--plan) holds only imports.

    \b
    Examples:
      reconcile apply --endpoint-url http://127.0.0.1:5555
      reconcile plan --out pr.plan && reconcile apply --plan pr.plan --auto-approve
      reconcile apply manifests/prod --wait --wait-timeout 3600 --auto-approve
      reconcile apply --retry payments-2024   # after fixing the role or the files
      RECONCILE_MAX_COST=500 reconcile apply --auto-approve   # a budget for the run
    """

    from reconciler.apply.run import ApplyRequest, run_apply
    from reconciler.apply.types import ApplyOptions
    from reconciler.cli.app import connections, emit_plan_json, render
    from reconciler.cli.plan_cmds import plan_request
    from reconciler.errors import ManifestError, UsageError

    if plan_file and (paths or targets or replace or shard or retry):
        raise UsageError(
            "--plan applies exactly the saved plan: give no PATHS, --target, --replace, --retry "
            "or --shard with it (make the plan with them instead)."
        )
    if refuse_if_changed and not plan_file:
        raise UsageError(
            "--refuse-if-changed compares a saved plan with the manifests; give it with --plan."
        )
    if plan_file and preflight.max_cost is not None:
        raise UsageError(
            "--plan applies exactly the saved plan, whose preflight and budget were decided "
            "when it was made: give --max-cost (or RECONCILE_MAX_COST) to `reconcile plan`."
        )
    settings = global_settings(ctx)
    store = open_store(state_location)
    request = ApplyRequest(
        plan_request(
            paths,
            targets,
            replace,
            retry_backoff,
            pending_grace,
            shard,
            retry,
            queue_scope,
            preflight,
        ),
        plan_file=plan_file,
        lock_timeout=lock_timeout,
        command="reconcile apply " + " ".join(sys.argv[2:])[:200],
        refuse_if_changed=refuse_if_changed,
    )
    options = ApplyOptions(
        wait=wait,
        wait_timeout=wait_timeout or None,  # 0 waits forever, as the AWS CLI's timeouts
        stop_removed=stop_removed,
        poll_interval=poll_interval,
        parallelism=parallelism,
    )
    color = settings.use_color(sys.stdout)

    def show(plan: Plan) -> None:
        if not as_json:
            click.echo(render(plan, "text", color))
            if replace:
                click.echo(
                    "\nWarning: --replace starts new imports or export tasks; events in both the "
                    "old and the new range are stored (and billed) twice.",
                    err=True,
                )

    stop = threading.Event()
    events = ProgressEvents(settings, quiet_stdout=as_json)
    try:
        with _sigterm_as_interrupt(), events:
            result = run_apply(
                request,
                store,
                connections(settings),
                options,
                show=show,
                confirm=lambda plan: _confirm(plan, auto_approve, settings.no_input),
                events=events,
                stop=stop,
            )
    except ManifestError as exc:
        print_problems(exc.problems, settings.use_color(sys.stderr))
        raise
    except KeyboardInterrupt:
        stop.set()
        raise
    if as_json:
        emit_plan_json(settings, result.plan)
    else:
        _print_outcomes(result, events.printed)
        if wait:
            _print_statuses(result, events.final)
    if result.interrupted:
        raise KeyboardInterrupt
    if result.errors:
        return ExitCode.ERROR
    if result.timed_out:
        return ExitCode.WAIT_TIMEOUT
    if result.attention:
        return ExitCode.ATTENTION
    return ExitCode.OK


def _print_statuses(result: ApplyResult, final: dict[str, Progress]) -> None:
    """After --wait: how each import this run followed ended, and what is left for later."""
    from collections import Counter

    from reconciler.outcomes import ApplyOutcome
    from reconciler.plan.types import ActionKind

    if final:
        counts = Counter(progress.status for progress in final.values())
        parts = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        click.echo(f"Imports followed: {parts}.")
    started = {ApplyOutcome.STARTED, ApplyOutcome.RETRIED}
    left = [
        action.name
        for action in result.plan.actions
        if action.action in (ActionKind.QUEUED, ActionKind.PENDING)
        and result.kinds.get(action.name) not in started
        and action.name not in final
    ]
    if left:
        click.echo(
            f"Still queued: {', '.join(left)}. The next `reconcile apply` starts each when its "
            "queue is free (one import at a time per account)."
        )


def _print_outcomes(result: ApplyResult, shown: set[str]) -> None:
    from collections import Counter

    from reconciler.outcomes import QUIET_OUTCOMES

    done = [kind for kind in result.kinds.values() if kind not in QUIET_OUTCOMES]
    if not done:
        click.echo("\nNothing to apply.")
    else:
        verbs = Counter(kind.value for kind in done)
        parts = ", ".join(f"{count} {verb}" for verb, count in sorted(verbs.items()))
        click.echo(f"\nApply finished: {parts}.")
    for message in result.errors:
        if message not in shown:  # an error already printed as it happened is not repeated
            click.secho(f"Error: {message}", fg="red", err=True)
    if result.attention:
        names = ", ".join(sorted(result.attention))
        click.echo(f"\n{len(result.attention)} import(s) need attention: {names}.")
    if result.timed_out:
        click.echo("\n--wait-timeout reached with work left; run apply again to continue.")
