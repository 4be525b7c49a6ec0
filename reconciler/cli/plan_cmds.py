"""`reconcile plan` and `reconcile show`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from reconciler.cli.app import (
    EXIT_CODES_HELP,
    connections,
    emit_plan_json,
    format_options,
    global_options,
    global_settings,
    open_store,
    output_format,
    preflight_options,
    print_problems,
    render,
    shard_option,
    start_options,
    state_option,
    timing_options,
)
from reconciler.errors import ExitCode

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.cli.options import PreflightFlags
    from reconciler.plan.desired import Shard
    from reconciler.plan.make import PlanRequest


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--out", "out", metavar="PLANFILE", help="Also save the plan, for apply --plan.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when changes are pending, 3 when something needs attention, 0 otherwise.",
)
@click.option("--target", "targets", multiple=True, metavar="NAME", help="Plan only this entry.")
@click.option(
    "--replace",
    "replace",
    multiple=True,
    metavar="NAME",
    help="Show this entry's replacement (identity changed or import vanished; an export's task "
    "FAILED, CANCELLED or vanished) as confirmed.",
)
@format_options
@timing_options
@start_options
@preflight_options
@shard_option
@state_option
@global_options
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out: str | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    as_json: bool,
    as_markdown: bool,
    state_location: str | None,
    retry_backoff: float,
    pending_grace: float,
    retry: tuple[str, ...],
    queue_scope: str,
    preflight: PreflightFlags,
    shard: Shard | None,
) -> ExitCode:
    """Show what apply would do: read manifests, state and AWS; change nothing.

    Plan reads the state without taking its lock and never writes it; it makes only read
    calls to AWS (ListImports, and GetImport/ListImportFailures where state lacks details).
    A create or replace that would import events the store already holds needs attention
    (finding overlaps-existing-import), with the part of the range that is new as a fix.
    PATHS default to `manifests/`; state entries from manifest files outside PATHS are left
    out, never forgotten.

    Exports (`exports:`, CloudWatch Logs import tasks) are planned after the imports, as
    actions of kind export: adopted when a task with their store and range exists, queued
    behind imports into their store and AWS's 3 active tasks per account.

    Preflight: for every import that would start, plan also reads the store, the bucket and
    the role, counts the log files in range (listing only the prefixes the range covers) and
    estimates size and cost. An error finding (a store that ingests live, retention that
    drops events, ACLs enabled, a role CloudTrail cannot assume, over --max-cost, ...) makes
    that start need attention; README's "Preflight" lists every code.

    \b
    Examples:
      reconcile plan --endpoint-url http://127.0.0.1:4566
      reconcile plan manifests/prod --out prod.plan --detailed-exitcode
      reconcile plan --markdown > plan.md
      reconcile plan --retry payments-2024   # its failure is fixed: show the retry
      reconcile plan --max-cost 500          # no start if the run would cost more
    """

    import dataclasses

    from reconciler.errors import ManifestError
    from reconciler.plan.make import make_plan, without_exports
    from reconciler.plan.saved import write_plan_file

    settings = global_settings(ctx)
    fmt = output_format(as_json, as_markdown, settings)
    store = open_store(state_location)
    request = plan_request(
        paths, targets, replace, retry_backoff, pending_grace, shard, retry, queue_scope, preflight
    )
    request = dataclasses.replace(request, exports=True)
    try:
        saved = make_plan(request, store.read(), connections(settings))
    except ManifestError as exc:
        print_problems(exc.problems, settings.use_color(sys.stderr))
        raise
    if fmt == "json":
        emit_plan_json(settings, saved.plan)
    else:
        click.echo(render(saved.plan, fmt, settings.use_color(sys.stdout)))
    if out:
        write_plan_file(out, without_exports(saved))
        if saved.export_specs:
            from reconciler.plan.make import saved_plan_exports_notice

            click.echo(saved_plan_exports_notice(len(saved.export_specs)), err=True)
        if fmt == "text" and not settings.no_input:  # an interactive hint
            click.echo(f"Saved the plan to {out}. Apply exactly it: reconcile apply --plan {out}")
    if not detailed_exitcode:
        return ExitCode.OK
    if saved.plan.needs_attention:
        return ExitCode.ATTENTION
    return ExitCode.CHANGES_PENDING if saved.plan.has_changes else ExitCode.OK


def plan_request(
    paths: tuple[str, ...],
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    retry_backoff: float,
    pending_grace: float,
    shard: Shard | None,
    retry: tuple[str, ...],
    queue_scope: str,
    preflight: PreflightFlags,
) -> PlanRequest:
    """The flags plan and apply share, as the request both make their plan from."""
    from datetime import timedelta

    from reconciler.plan.make import PlanRequest

    return PlanRequest(
        paths=paths or ("manifests",),
        targets=targets,
        replace=replace,
        retry_backoff=timedelta(seconds=retry_backoff),
        grace=timedelta(seconds=pending_grace),
        shard=shard,
        retry=retry,
        queue_scope=queue_scope,
        **preflight.request_fields(),
    )


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("planfile", type=click.Path(path_type=str))
@format_options
@global_options
@click.pass_context
def show(ctx: click.Context, planfile: str, as_json: bool, as_markdown: bool) -> ExitCode:
    """Render a saved plan (from `plan --out`) as text, --json or --markdown.

    Makes no AWS call and reads no state: it shows the plan exactly as it was made.

    \b
    Examples:
      reconcile show pr.plan
      reconcile show pr.plan --markdown > plan.md   # the pull-request comment
      reconcile show pr.plan --json | jq '.summary'
    """
    from reconciler.plan.saved import read_plan_file

    saved = read_plan_file(planfile)
    settings = global_settings(ctx)
    fmt = output_format(as_json, as_markdown, settings)
    if fmt == "json":
        emit_plan_json(settings, saved.plan)
    else:
        click.echo(render(saved.plan, fmt, settings.use_color(sys.stdout)))
    return ExitCode.OK
