"""`reconcile validate` and `reconcile schema`: offline manifest checks."""

from __future__ import annotations

import sys

import click

from reconciler.cli.app import (
    EXIT_CODES_HELP,
    emit_json,
    global_options,
    global_settings,
    print_problems,
)
from reconciler.errors import ExitCode


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON data.")
@global_options
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> ExitCode:
    """Check manifests offline: syntax, fields, names, time ranges and overlaps.

    PATHS are manifest files or directories (read recursively for *.yaml, *.yml and *.json,
    sorted by path); the default is `manifests/`. Every problem in every file is reported, each
    as FILE:LINE:COL: FIELD: MESSAGE. No AWS call is made.

    \b
    Examples:
      reconcile validate
      reconcile validate manifests/prod.yaml manifests/staging/
      reconcile validate --json | jq '.problems[].message'
    """
    from reconciler.manifest.load import load_manifests
    from reconciler.manifest.problems import problems_json

    result = load_manifests(paths or ("manifests",))
    settings = global_settings(ctx)
    if as_json or settings.query is not None:
        files = [f.path for f in result.files]
        emit_json(settings, problems_json(result.problems, files, len(result.imports)))
    elif result.problems:
        print_problems(result.problems, global_settings(ctx).use_color(sys.stderr))
    else:
        click.echo(f"{len(result.files)} manifest file(s), {len(result.imports)} import(s): valid.")
    return ExitCode.ERROR if result.problems else ExitCode.OK


@click.command()
@global_options
def schema() -> ExitCode:
    """Print the manifest JSON Schema (draft-07).

    Point your editor at it with a first line such as
    `# yaml-language-server: $schema=../manifest.schema.json` for completion and checks while
    you type. A copy is committed as `manifest.schema.json`.
    """
    from reconciler.manifest.schema import manifest_schema_json

    click.echo(manifest_schema_json())
    return ExitCode.OK
