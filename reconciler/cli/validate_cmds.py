"""`reconcile validate` (offline checks, and preflight with --online) and `reconcile schema`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from reconciler import defaults
from reconciler.cli.app import (
    EXIT_CODES_HELP,
    emit_json,
    global_options,
    global_settings,
    print_problems,
)
from reconciler.cli.options import FiniteFloat, GlobalSettings
from reconciler.errors import ExitCode

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.manifest.load import LoadResult
    from reconciler.preflight.online import OnlineCheck


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON data.")
@click.option(
    "--online",
    is_flag=True,
    help="Also run preflight for every entry, as if each were about to start: the store, the "
    "bucket, the role, the log files in range, size and cost (read-only AWS calls). Exits 1 "
    "when an error finding remains.",
)
@click.option(
    "--price-per-gb",
    type=FiniteFloat(0, defaults.MAX_PRICE_PER_GB, low_open=True),
    metavar="USD",
    help="With --online: the price per GB for the estimate (as for plan).",
)
@click.option(
    "--state",
    "state_location",
    metavar="PATH",
    help="Read this state (a file or s3://BUCKET/KEY) so overlap advice changes only entries "
    "that have not started; without it, validate reads no state.",
)
@global_options
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[str, ...],
    as_json: bool,
    online: bool,
    price_per_gb: float | None,
    state_location: str | None,
) -> ExitCode:
    """Check manifests: syntax, fields, names, ranges, overlaps; --online: AWS too.

    PATHS are manifest files or directories (read recursively for *.yaml, *.yml and *.json,
    sorted by path); the default is `manifests/`. Every problem in every file is reported, each
    as FILE:LINE:COL: FIELD: MESSAGE. Without --online no AWS call is made. With --online, each
    entry gets the preflight plan runs for starts (README, "Preflight", lists the codes and
    the permissions it needs), whatever its state.

    \b
    Examples:
      reconcile validate
      reconcile validate manifests/prod.yaml manifests/staging/
      reconcile validate --json | jq '.problems[].message'
      reconcile validate --state .reconcile/state.json   # overlap advice that knows state
      reconcile validate --online --endpoint-url http://127.0.0.1:5555
    """
    from reconciler.manifest.load import load_manifests
    from reconciler.manifest.problems import problems_json

    if price_per_gb is not None and not online:
        raise click.UsageError("--price-per-gb prices the --online estimate; add --online.")
    started = None
    if state_location is not None:
        from reconciler.cli.app import open_store
        from reconciler.plan.make import started_names

        started = started_names(open_store(state_location).read())
    result = load_manifests(paths or ("manifests",), started)
    settings = global_settings(ctx)
    checked = None
    if online and not result.problems:
        checked = _online(settings, result, price_per_gb)
    if as_json or settings.query is not None:
        files = [f.path for f in result.files]
        document = json.loads(problems_json(result.problems, files, len(result.imports)))
        if result.exports:
            document["exports"] = len(result.exports)
        if checked is not None:
            document["preflight"] = checked.to_json()
        emit_json(settings, json.dumps(document, indent=2))
    elif result.problems:
        print_problems(result.problems, global_settings(ctx).use_color(sys.stderr))
    else:
        exports = f", {len(result.exports)} export(s)" if result.exports else ""
        click.echo(
            f"{len(result.files)} manifest file(s), {len(result.imports)} import(s){exports}: "
            "valid."
        )
        if checked is not None:
            from reconciler.render.text import render_online

            click.echo(render_online(checked))
    if result.problems or (checked is not None and checked.errors):
        return ExitCode.ERROR
    return ExitCode.OK


def _online(settings: GlobalSettings, result: LoadResult, price: float | None) -> OnlineCheck:
    from datetime import UTC, datetime

    from reconciler.cli.app import connections
    from reconciler.preflight.gather import Candidate, Settings, gather
    from reconciler.preflight.online import OnlineCheck

    connector = connections(settings)
    connector.use_accounts(result.accounts)
    evidence = gather(
        [Candidate(spec) for spec in result.imports], connector, Settings(price), datetime.now(UTC)
    )
    return OnlineCheck(tuple(result.imports), evidence)


@click.command()
@global_options
def schema() -> ExitCode:
    """Print the manifest JSON Schema (draft-07).

    Point your editor at it with a first line such as
    `# yaml-language-server: $schema=../manifest.schema.json` for completion and checks while
    you type. A copy is committed as `manifest.schema.json`.

    \b
    Examples:
      reconcile schema > manifest.schema.json
      reconcile schema | jq '.properties.imports'
    """
    from reconciler.manifest.schema import manifest_schema_json

    click.echo(manifest_schema_json())
    return ExitCode.OK
