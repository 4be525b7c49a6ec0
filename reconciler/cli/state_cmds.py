"""The `reconcile state ...` group: inspect and edit the state."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from reconciler import defaults
from reconciler.cli.app import (
    EXIT_CODES_HELP,
    global_options,
    global_settings,
    open_store,
    state_option,
)
from reconciler.cli.options import FiniteFloat
from reconciler.cli.tables import (
    echo_json,
    no_records,
    table,
    text,
)
from reconciler.errors import ExitCode

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.state.document import ImportRecord


@click.group(name="state", epilog=EXIT_CODES_HELP)
@global_options
def state_group() -> None:
    """Inspect and repair the state file by hand.

    State is a cache of facts AWS also knows (which import each manifest name is, attempts,
    pending intents); losing an entry never starts a duplicate import, because plan finds
    imports by identity. `list`, `show` and `history` only read; `mv`, `rm` take the state
    lock (fail fast unless --lock-timeout) and write a new version (serial + 1, the previous
    one kept as a backup).

    \b
    Examples:
      reconcile state list
      reconcile state history payments-2024-h1
      reconcile state mv payments-2024 payments-2024-full
    """


def lock_timeout_option(func: Any) -> Any:
    return click.option(
        "--lock-timeout",
        type=FiniteFloat(0, defaults.MAX_LOCK_TIMEOUT_SECONDS),
        default=defaults.LOCK_TIMEOUT_SECONDS,
        show_default=True,
        metavar="SECONDS",
        help="Wait this long for another holder of the state lock (0: fail at once).",
    )(func)


@state_group.command(name="list", epilog=EXIT_CODES_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects, one per import.")
@state_option
@global_options
@click.pass_context
def state_list(ctx: click.Context, as_json: bool, state_location: str | None) -> ExitCode:
    """List the imports recorded in state: name, last seen status, ImportId, manifest file.

    The status is what the last plan or apply observed (PENDING for an intent without an
    ImportId); `reconcile status` asks AWS for the live one. No AWS call is made.

    \b
    JSON keys: name, status, import_id, manifest_file, final, intent, updated_at.

    \b
    Examples:
      reconcile state list
      reconcile state list --state prod/state.json --json
    """
    from reconciler.state.ops import PENDING, select_records

    store = open_store(state_location)
    document = store.read()
    records = select_records(document, (), store.describe())

    def shown_status(record: ImportRecord) -> str:
        if record.import_id is None and record.intent is not None:
            return PENDING
        return str(record.status or "-")

    if as_json or global_settings(ctx).query is not None:
        echo_json(
            [
                {
                    "name": r.name,
                    "status": shown_status(r),
                    "import_id": r.import_id,
                    "manifest_file": r.manifest_file,
                    "final": r.final,
                    "intent": r.intent.to_json() if r.intent else None,
                    "updated_at": r.to_json()["updated_at"],
                }
                for r in records
            ]
            + [
                {
                    "name": e.name,
                    "kind": "export",
                    "status": e.status,
                    "import_id": e.import_id,
                    "manifest_file": e.manifest_file,
                    "intent_at": e.to_json()["intent_at"],
                }
                for e in (document.exports[name] for name in sorted(document.exports))
            ]
        )
        return ExitCode.OK
    exports = [document.exports[name] for name in sorted(document.exports)]
    if not records and not exports:
        click.echo(no_records(store.describe(), document.exists))
        return ExitCode.OK
    cells = [[r.name, shown_status(r), r.import_id or "-", r.manifest_file] for r in records]
    cells += [
        [f"{e.name} (export)", e.status or ("PENDING" if e.intent_at else "-"),
         e.import_id or "-", e.manifest_file]
        for e in exports
    ]  # fmt: skip
    color = global_settings(ctx).use_color(sys.stdout)
    headers = ["NAME", "STATUS", "IMPORT ID", "MANIFEST"]
    click.echo(table(headers, cells, color=color, status_column=1), color=color)
    return ExitCode.OK


@state_group.command(name="show", epilog=EXIT_CODES_HELP)
@click.argument("name")
@state_option
@global_options
def state_show(name: str, state_location: str | None) -> ExitCode:
    """Print the record of NAME as JSON, exactly as state holds it (plus its name).

    \b
    Examples:
      reconcile state show payments-2024-h1
      reconcile state show payments-2024-h1 | jq .attempts
    """
    from reconciler.state.ops import find_record

    store = open_store(state_location)
    document = store.read()
    if name in document.exports and name not in document.imports:
        echo_json({"name": name, "kind": "export", **document.exports[name].to_json()})
        return ExitCode.OK
    record = find_record(document, name, store.describe())
    echo_json({"name": record.name, **record.to_json()})
    return ExitCode.OK


@state_group.command(name="history", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The history as a JSON object.")
@state_option
@global_options
@click.pass_context
def state_history(
    ctx: click.Context, name: str, as_json: bool, state_location: str | None
) -> ExitCode:
    """Show every StartImport of NAME: time, kind, outcome, ImportId and error.

    Kinds are create, retry and replace; outcomes are started, refused (AWS said another
    import is running: not counted against max_attempts) and unknown (the answer was lost).
    A pending intent (written before a StartImport whose ImportId is not recorded yet) is the
    last line, and the earliest time of the next retry follows the table.

    \b
    Examples:
      reconcile state history payments-2024-h1
      reconcile state history payments-2024-h1 --json
    """
    from reconciler.fields import format_time
    from reconciler.state.ops import find_record, record_history

    store = open_store(state_location)
    record = find_record(store.read(), name, store.describe())
    rows = record_history(record)
    next_retry = format_time(record.next_retry_at) if record.next_retry_at else None
    if as_json or global_settings(ctx).query is not None:
        echo_json(
            {
                "name": record.name,
                "import_id": record.import_id,
                "status": record.status,
                "attempts_counted": record.starts,
                "max_attempts": record.max_attempts,
                "history": [row.to_json() for row in rows],
                "next_retry_at": next_retry,
            }
        )
        return ExitCode.OK
    click.echo(
        f"{record.name}: ImportId {record.import_id or '-'}, status {record.status or '-'}, "
        f"{record.starts} of {record.max_attempts} attempts used."
    )
    if rows:
        cells = [
            [format_time(r.at), r.kind, r.outcome, r.import_id or "-", text(r.error)] for r in rows
        ]
        color = global_settings(ctx).use_color(sys.stdout)
        headers = ["AT", "KIND", "OUTCOME", "IMPORT ID", "ERROR"]
        click.echo(table(headers, cells, color=color), color=color)
    else:
        click.echo("No StartImport recorded (the import was adopted, or not started yet).")
    if next_retry:
        click.echo(f"Next retry not before {next_retry}.")
    return ExitCode.OK


@state_group.command(name="mv", epilog=EXIT_CODES_HELP)
@click.argument("old")
@click.argument("new")
@lock_timeout_option
@state_option
@global_options
def state_mv(old: str, new: str, lock_timeout: float, state_location: str | None) -> ExitCode:
    """Rename the record OLD to NEW: the same import, under a new manifest name.

    Plan detects renames by identity on its own; use this when you rename an entry and want
    the state to follow first, or to undo a wrong rename. Refuses when NEW already exists.
    Rename the entry in its manifest too, or the next plan renames the record back.

    \b
    Examples:
      reconcile state mv payments-2024 payments-2024-full
      reconcile state mv old-name new-name --lock-timeout 30
    """
    from reconciler.state.ops import move_record

    store = open_store(state_location)
    written = move_record(store, old, new, f"reconcile state mv {old} {new}", lock_timeout)
    moved = written.imports.get(new) or written.exports[new]
    manifest = moved.manifest_file
    click.echo(
        f"Moved {old} to {new} in state {store.describe()} (serial {written.serial}). Rename "
        f"the entry in {manifest} as well, or the next plan renames it back."
    )
    return ExitCode.OK


@state_group.command(name="rm", epilog=EXIT_CODES_HELP)
@click.argument("name")
@lock_timeout_option
@state_option
@global_options
def state_rm(name: str, lock_timeout: float, state_location: str | None) -> ExitCode:
    """Forget the record NAME. Nothing in AWS changes.

    The import and the events it imported stay in the Lake; reconcile just stops tracking
    it (and loses its attempt history). If the entry is still in a manifest, the next plan
    adopts the same import again by its identity, so no second import is started; remove the
    entry from the manifest first if you want it gone for good.

    \b
    Examples:
      reconcile state rm payments-2023
      reconcile state rm payments-2023 --lock-timeout 30
    """
    from reconciler.state.ops import remove_export_record, remove_record

    store = open_store(state_location)
    current = store.read()
    if name in current.exports and name not in current.imports:
        done, gone = remove_export_record(store, name, f"reconcile state rm {name}", lock_timeout)
        task = f"task {gone.import_id}" if gone.import_id else "no task recorded"
        click.echo(
            f"Removed export {name} ({task}) from state {store.describe()} (serial "
            f"{done.serial}). The task and what it copied stay in CloudWatch Logs; if {name} is "
            "still in a manifest, the next plan adopts the task by its range instead of "
            "starting a new one."
        )
        return ExitCode.OK
    written, removed = remove_record(store, name, f"reconcile state rm {name}", lock_timeout)
    if removed.import_id:
        what = f"ImportId {removed.import_id}"
        kept = "The import and its events stay in the Lake."
    else:
        what = "no ImportId recorded"
        kept = "If its StartImport did reach AWS, that import and its events stay in the Lake."
    click.echo(
        f"Removed {name} ({what}) from state {store.describe()} (serial {written.serial}). "
        f"{kept} If {name} is still in a manifest ({removed.manifest_file}), the next plan "
        "adopts the import by its identity instead of starting a new one."
    )
    return ExitCode.OK


@state_group.command(name="resolve", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option(
    "--adopt",
    "adopt",
    metavar="IMPORT_ID",
    help="This import is what NAME's unanswered StartImport started: record it as NAME's.",
)
@click.option(
    "--not-ours",
    "not_ours",
    multiple=True,
    metavar="IMPORT_ID",
    help="This import is not NAME's (someone else started it). Repeatable.",
)
@lock_timeout_option
@state_option
@global_options
def state_resolve(
    name: str,
    adopt: str | None,
    not_ours: tuple[str, ...],
    lock_timeout: float,
    state_location: str | None,
) -> ExitCode:
    """Settle an unanswered StartImport of NAME by hand.

    When a StartImport got no answer and an import appeared in the store afterwards whose
    fields do not match exactly what was sent, plan cannot tell whether it is NAME's and asks
    (attention). Look at the import (aws cloudtrail get-import --import-id ID), then say
    which it is. After --not-ours, plan starts a new import only if no other candidate is
    left and the new range does not overlap what the store holds.

    \b
    Examples:
      reconcile state resolve payments-2024 --adopt 1f0e6c1e-2b8a-4c3e-9d55-0a4b1c2d3e4f
      reconcile state resolve payments-2024 --not-ours 1f0e6c1e-2b8a-4c3e-9d55-0a4b1c2d3e4f
    """
    from reconciler.state.ops import resolve_record

    store = open_store(state_location)
    command = f"reconcile state resolve {name}"
    written = resolve_record(
        store, name, command, adopt=adopt, not_ours=not_ours, timeout=lock_timeout
    )
    if adopt:
        said = f"recorded {adopt} as the import {name} started"
    else:
        said = f"noted {', '.join(not_ours)} as not {name}'s"
    click.echo(
        f"Resolved {name}: {said} (state {store.describe()}, serial {written.serial}). Run "
        "reconcile plan to see what follows."
    )
    return ExitCode.OK


@state_group.command(name="force-unlock", epilog=EXIT_CODES_HELP)
@click.argument("lock_id")
@state_option
@global_options
def state_force_unlock(lock_id: str, state_location: str | None) -> ExitCode:
    """Remove the state lock left by a process that is gone, if LOCK_ID is the recorded one.

    The lock ID is in the message of the command that found the state locked. A lock whose
    holder is still running is never broken: stop that process instead. For a local state
    file the operating system already released the lock of a dead process; this clears its
    stale holder record.

    \b
    Examples:
      reconcile state force-unlock 6f1c2d4e-8a9b-4c3d-9e0f-1a2b3c4d5e6f
    """
    store = open_store(state_location)
    holder = store.holder()
    store.force_unlock(lock_id)
    who = f" held by {holder.describe()}" if holder is not None else ""
    click.echo(f"Removed the lock{who} from state {store.describe()}.")
    return ExitCode.OK
