"""`reconcile status` and `reconcile failures`: live progress and failures of imports."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.app import (
    EXIT_CODES_HELP,
    connections,
    global_options,
    global_settings,
    open_store,
    state_option,
)
from reconciler.cli.tables import (
    echo_json,
    no_records,
    number,
    table,
    text,
)
from reconciler.errors import ExitCode

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from collections.abc import Callable

    from reconciler.cli.options import GlobalSettings
    from reconciler.ports import ImportReader


def manifests_option(func: Any) -> Any:
    return click.option(
        "--manifests",
        metavar="PATH",
        default="manifests",
        show_default=True,
        help="Where to read `accounts:` from (how to reach each account); ignored if absent.",
    )(func)


def account_connections(settings: GlobalSettings, manifests: str) -> Any:
    """The run's connections, reaching each account the way the manifests' `accounts:` say
    (for imports and exports alike)."""
    from pathlib import Path

    conns = connections(settings)
    if Path(manifests).exists():
        from reconciler.manifest.load import load_manifests

        conns.use_accounts(load_manifests([manifests]).accounts)
    return conns


def account_readers(settings: GlobalSettings, manifests: str) -> Callable[[str], ImportReader]:
    """Readers per account, reaching each the way the manifests' `accounts:` say."""
    reader: Callable[[str], ImportReader] = account_connections(settings, manifests).reader
    return reader


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects, one per import.")
@manifests_option
@state_option
@global_options
@click.pass_context
def status(
    ctx: click.Context,
    names: tuple[str, ...],
    as_json: bool,
    manifests: str,
    state_location: str | None,
) -> ExitCode:
    """Show live progress of the imports recorded in state (all, or the NAMEs given).

    For each import: ImportId, status, files and events completed, failed entries, when AWS
    last updated it, and its destination Region. Imports that may still change are asked with
    GetImport; a COMPLETED import whose final details state holds needs no call, and a pending
    intent without an ImportId (a StartImport whose answer was lost) shows as PENDING. Reads
    state without its lock and never writes it.

    Exports recorded in state follow, in a table of their own: task ID, status, bytes
    copied, last update (DescribeImportTasks).

    \b
    JSON keys: name, import_id, status, files_completed, events_completed, failed_entries,
    updated, account, region, live (false: taken from state), note; an export's row has
    kind "export", name, import_id, status, bytes_imported, updated, account, region, note.

    \b
    Examples:
      reconcile status
      reconcile status payments-2024-h1 --endpoint-url http://127.0.0.1:4566
      reconcile status --json | jq '.[] | select(.status == "FAILED") | .name'
    """
    from reconciler.state.export_ops import export_status
    from reconciler.state.ops import live_status, select_records

    settings = global_settings(ctx)
    store = open_store(state_location)
    document = store.read()
    reader_for = account_readers(settings, manifests)
    exported = [n for n in names if n in document.exports and n not in document.imports]
    imported = [n for n in names if n not in exported]
    rows = (
        live_status(select_records(document, imported, store.describe()), reader_for)
        if imported or not names
        else []
    )
    chosen = exported if names else sorted(document.exports)
    export_rows = (
        export_status(
            [document.exports[n] for n in chosen], account_connections(settings, manifests).exports
        )
        if chosen
        else []
    )
    if as_json or global_settings(ctx).query is not None:
        echo_json([row.to_json() for row in rows] + [row.to_json() for row in export_rows])
        return ExitCode.OK
    if not rows and not export_rows:
        click.echo(no_records(store.describe(), document.exists))
        return ExitCode.OK
    if export_rows:
        _echo_exports(export_rows, settings)
        if not rows:
            return ExitCode.OK
        click.echo()
    from reconciler.fields import format_time

    headers = ["NAME", "IMPORT ID", "STATUS", "FILES", "EVENTS", "FAILED", "UPDATED", "REGION"]
    cells = [
        [
            row.name,
            row.import_id or "-",
            row.status,
            number(row.files_completed),
            number(row.events_completed),
            number(row.failed_entries),
            format_time(row.updated) if row.updated else "-",
            row.region,
        ]
        for row in rows
    ]
    color = settings.use_color(sys.stdout)
    click.echo(
        table(headers, cells, color=color, right=frozenset({3, 4, 5}), status_column=2),
        color=color,
    )
    for row in rows:
        if row.note:
            click.echo(f"  {row.name}: {text(row.note)}")
    return ExitCode.OK


def _echo_exports(rows: list[Any], settings: GlobalSettings) -> None:
    from reconciler.fields import format_time

    headers = ["EXPORT", "TASK ID", "STATUS", "BYTES", "UPDATED", "REGION"]
    cells = [
        [row.name, row.import_id or "-", row.status, number(row.bytes_imported),
         format_time(row.updated) if row.updated else "-", row.region]
        for row in rows
    ]  # fmt: skip
    color = settings.use_color(sys.stdout)
    click.echo(table(headers, cells, color=color, right=frozenset({3}), status_column=2),
               color=color)  # fmt: skip
    for row in rows:
        if row.note:
            click.echo(f"  {row.name}: {text(row.note)}")


# -- failures -------------------------------------------------------------------------------


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The failures as a JSON object.")
@manifests_option
@state_option
@global_options
@click.pass_context
def failures(
    ctx: click.Context, name: str, as_json: bool, manifests: str, state_location: str | None
) -> ExitCode:
    """List every failure (ListImportFailures, all pages) of the import recorded as NAME.

    For an export, its task's FAILED batches (DescribeImportTaskBatches): batch ID and error;
    AWS gives a batch no time range.

    Each failure: the S3 object's location, its status (FAILED, or SUCCEEDED once a retry
    read it), the error type and message, and when it was last updated. This is a report:
    it exits 0 whether or not there are failures. Reads state without its lock.

    \b
    JSON: {"name", "import_id", "account", "region", "count", "failures": [{"location",
    "status", "error_type", "error_message", "last_updated"}]}.

    \b
    Examples:
      reconcile failures payments-2024-h1
      reconcile failures payments-2024-h1 --json | jq -r '.failures[].location'
    """
    from reconciler.state.ops import all_failures, find_record, place_of

    settings = global_settings(ctx)
    store = open_store(state_location)
    document = store.read()
    if name in document.exports and name not in document.imports:
        return _export_failures(
            document.exports[name],
            settings,
            account_connections(settings, manifests),
            as_json or settings.query is not None,
        )
    record = find_record(document, name, store.describe())
    found = all_failures(account_readers(settings, manifests), record)
    account, region = place_of(record)
    if as_json or global_settings(ctx).query is not None:
        echo_json(
            {
                "name": name,
                "import_id": record.import_id,
                "account": account,
                "region": region,
                "count": len(found),
                "failures": [
                    {
                        "location": f.location,
                        "status": f.status,
                        "error_type": f.error_type,
                        "error_message": f.error_message,
                        "last_updated": f.last_updated,
                    }
                    for f in found
                ],
            }
        )
        return ExitCode.OK
    where = f"import {name} (ImportId {record.import_id}, {region})"
    if not found:
        click.echo(f"No failures recorded for {where}.")
        return ExitCode.OK
    count = f"{len(found):,} failure{'s' if len(found) != 1 else ''}"
    click.echo(f"{count} of {where}:")
    headers = ["LOCATION", "STATUS", "ERROR TYPE", "LAST UPDATED", "MESSAGE"]
    cells = [
        [
            text(f.location),
            text(f.status),
            text(f.error_type),
            text(f.last_updated),
            text(f.error_message),
        ]
        for f in found
    ]
    color = settings.use_color(sys.stdout)
    click.echo(table(headers, cells, color=color, status_column=1), color=color)
    return ExitCode.OK


# -- state ----------------------------------------------------------------------------------


def _export_failures(record: Any, settings: GlobalSettings, conns: Any, as_json: bool) -> ExitCode:
    """An export's failures: its task's FAILED batches (no time range: AWS gives none)."""
    from reconciler.fields import arn_parts
    from reconciler.state.export_ops import export_failures

    found = export_failures(record, conns.exports)
    account, region = arn_parts(record.identity.source)
    if as_json:
        echo_json({
            "name": record.name, "kind": "export", "import_id": record.import_id,
            "account": account, "region": region, "count": len(found),
            "failures": [{"batch_id": b.batch_id, "status": b.status, "error_message": b.error}
                         for b in found],
        })  # fmt: skip
        return ExitCode.OK
    where = f"export {record.name} (task {record.import_id}, {region})"
    if not found:
        click.echo(f"No failed batches for {where}.")
        return ExitCode.OK
    click.echo(f"{len(found):,} failed batch{'es' if len(found) != 1 else ''} of {where}:")
    cells = [[text(b.batch_id), text(b.status), text(b.error or "")] for b in found]
    color = settings.use_color(sys.stdout)
    click.echo(table(["BATCH", "STATUS", "MESSAGE"], cells, color=color), color=color)
    return ExitCode.OK
