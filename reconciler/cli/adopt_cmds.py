"""`reconcile adopt`: write manifest entries for imports that already exist in AWS."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reconciler.cli.app import (
    EXIT_CODES_HELP,
    connections,
    global_options,
    global_settings,
    open_store,
    state_option,
)
from reconciler.cli.options import checked, region_name
from reconciler.errors import ExitCode

SCHEMA_FILE = "manifest.schema.json"


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--destination",
    "destinations",
    multiple=True,
    metavar="ARN",
    help="Only imports into this event data store (repeatable); its Region is searched.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    callback=checked(region_name),
    help="Search this Region too (repeatable). Default: the global --region, AWS_REGION, or "
    "the profile's Region.",
)
@click.option("--out", "out", metavar="FILE", help="Write the manifest here, not to stdout.")
@click.option("--force", is_flag=True, help="With --out: overwrite FILE if it exists.")
@click.option(
    "--include-managed",
    is_flag=True,
    help="Also write entries for imports that state already manages (by ImportId).",
)
@click.option(
    "--exports",
    "for_exports",
    is_flag=True,
    help="CloudWatch Logs import tasks (exports) instead of imports: one `exports:` entry per "
    "task, pinned by import_id (--destination then names the source stores).",
)
@click.option(
    "--propose",
    is_flag=True,
    help="With --exports: also propose one new export per event data store that has none "
    "(what it keeps, from 2023 on, to the end of yesterday); needs --role-arn.",
)
@click.option(
    "--role-arn",
    metavar="ARN",
    help="With --propose: the role CloudWatch Logs uses for the proposed exports.",
)
@state_option
@global_options
@click.pass_context
def adopt(
    ctx: click.Context,
    destinations: tuple[str, ...],
    regions: tuple[str, ...],
    out: str | None,
    force: bool,
    include_managed: bool,
    for_exports: bool,
    propose: bool,
    role_arn: str | None,
    state_location: str | None,
) -> ExitCode:
    """Write manifest YAML for imports that already exist (made in the console or the CLI).

    Brings history under management: one entry per import, pinned with `import_id`, so the
    next `reconcile plan` shows `adopt` for each (nothing starts) and never `create`. Only read
    calls are made (ListImports, GetImport, ListEventDataStores); state is read, never written.

    \b
    What you get per import:
      name             adopted-<store name or ID prefix>-<start date or 'open'>-<ImportId[:8]>
      destination, source (uri, bucket_region, role_arn), start/end_event_time, import_id
      a comment        with its status, ImportId and creation time
      allow_overlap    true on the later of two imports whose ranges overlap (those events are
                       already stored twice in the Lake; validate would refuse it otherwise)
      retry            max_attempts: 1 on FAILED imports, so apply does not retry them unasked
    Destination, bucket Region and role shared by every entry move to `defaults:`. Imports
    whose ImportId state already holds are left out (give --include-managed to keep them).

    \b
    Regions searched: those of the --destination ARNs plus every --region; with neither, the
    global --region, AWS_REGION or the profile's Region. With --destination, only imports into
    those stores are written.

    \b
    Examples:
      reconcile adopt --region us-east-1 --region us-west-2 --out manifests/adopted.yaml
      reconcile adopt --destination arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/ID
      reconcile adopt --out manifests/adopted.yaml --force --endpoint-url http://127.0.0.1:4566

    With --exports the same for CloudWatch Logs import tasks: one `exports:` entry per task,
    pinned by import_id (no role: DescribeImportTasks does not return it); --propose
    --role-arn ARN adds a new export per event data store of trail events that has none yet,
    for teams moving everything to CloudWatch.

    \b
      reconcile adopt --exports --region us-east-1 --out manifests/exports.yaml
      reconcile adopt --exports --propose --role-arn arn:aws:iam::123456789012:role/Export

    Then review the file, `reconcile validate`, `reconcile plan` (adopt only), `reconcile apply`.
    """
    from reconciler.adopt import (
        adopt as adopt_imports,
    )
    from reconciler.adopt import (
        managed_import_ids,
        observe_imports,
        render_yaml,
    )
    from reconciler.aws.discovery import caller_account, store_names
    from reconciler.fields import arn_parts, check_event_data_store_arn

    if out and os.path.exists(out) and not force:
        raise click.UsageError(f"{out} exists; choose another --out or add --force to overwrite")
    if (propose or role_arn) and not for_exports:
        raise click.UsageError("--propose and --role-arn go with --exports")
    if propose and not role_arn:
        raise click.UsageError(
            "--propose writes exports CloudWatch Logs must be allowed to run: give the role "
            "with --role-arn arn:aws:iam::ACCOUNT:role/NAME"
        )
    settings = global_settings(ctx)
    conns = connections(settings)
    places: dict[str, list[str]] = {}  # account -> Regions, in the order given
    for arn in destinations:
        try:
            check_event_data_store_arn(arn)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--destination") from None
        account, region = arn_parts(arn)
        places.setdefault(account, []).append(region)
    if regions or not destinations:
        default = settings.region or conns.base.session.region_name
        searched = list(regions) or ([default] if default else [])
        if not searched:
            raise click.UsageError("no Region: pass --region or --destination, or set AWS_REGION")
        places.setdefault(caller_account(conns.base), []).extend(searched)
    if for_exports:
        return _adopt_exports(
            conns, places, destinations, out, force, include_managed, propose, role_arn,
            state_location,
        )  # fmt: skip
    managed: frozenset[str] = frozenset()
    if not include_managed:
        managed = managed_import_ids(open_store(state_location).read())
    found, skipped = [], []
    names: dict[str, str] = {}
    for account, account_regions in places.items():
        reader = conns.reader(account)
        seen, left_out = observe_imports(reader, account_regions, destinations, managed)
        found += seen
        skipped += left_out
        for region in dict.fromkeys(account_regions):
            names.update(store_names(reader.factory, region))
    adoption = adopt_imports(found, names)
    all_regions = sorted({r for rs in places.values() for r in rs})
    text = render_yaml(
        adoption,
        schema_ref=_schema_ref(out),
        generated_at=datetime.now(UTC),
        regions=all_regions,
    )
    if out:
        with open(out, "w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
    for item in (*skipped, *adoption.skipped):
        click.echo(f"Skipped {item.import_id} ({item.region}): {item.reason}", err=True)
    wrote = len(adoption.entries)
    listed = len(found) + len(skipped)
    click.echo(
        f"Wrote {wrote} {'entry' if wrote == 1 else 'entries'} for {listed} "
        f"{'import' if listed == 1 else 'imports'} in "
        f"{', '.join(all_regions)} to {out or 'stdout'}; run `reconcile plan` next: it should "
        "show adopt, never create.",
        err=True,
    )
    return ExitCode.OK


# The command's own --region is repeatable and lists Regions to search; the global one (a
# single default Region) still works before the subcommand: `reconcile --region R adopt`.
adopt.params = [p for p in adopt.params if not (p.name == "region" and not p.expose_value)]


def _schema_ref(out: str | None) -> str:
    """The committed schema relative to FILE's folder, when found above it; else the default."""
    from reconciler.adopt import DEFAULT_SCHEMA_REF

    if not out:
        return DEFAULT_SCHEMA_REF
    folder = Path(out).resolve().parent
    for parent in (folder, *folder.parents):
        if (parent / SCHEMA_FILE).is_file():
            return Path(os.path.relpath(parent / SCHEMA_FILE, folder)).as_posix()
    return DEFAULT_SCHEMA_REF


def _adopt_exports(
    conns: Any,
    places: dict[str, list[str]],
    destinations: tuple[str, ...],
    out: str | None,
    force: bool,
    include_managed: bool,
    propose: bool,
    role_arn: str | None,
    state_location: str | None,
) -> ExitCode:
    """`adopt --exports [--propose]`: entries for existing tasks, and proposals per store."""
    from reconciler.adopt_exports import (
        StoreToExport,
        adopted_entries,
        proposed_entries,
        render_exports,
    )
    from reconciler.aws.discovery import store_names
    from reconciler.fields import check_role_arn
    from reconciler.ports import NotFound, Unreadable

    if role_arn:
        try:
            check_role_arn(role_arn)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--role-arn") from None
    state = open_store(state_location).read()
    managed = frozenset(
        r.import_id for r in state.exports.values() if r.import_id and not include_managed
    )
    tasks, names, stores = [], {}, []
    for account, account_regions in places.items():
        for region in dict.fromkeys(account_regions):
            listed = conns.exports(account).list_tasks(region)
            tasks += [t for t in listed if not destinations or t.source in destinations]
            region_names = store_names(conns.factory(account), region)
            names.update(region_names)
            if propose:
                reader = conns.preflight(account)
                for arn in region_names:
                    if destinations and arn not in destinations:
                        continue
                    try:
                        facts = reader.event_data_store(region, arn)
                    except (NotFound, Unreadable) as exc:
                        click.echo(f"Skipped store {arn}: {exc}", err=True)
                        continue
                    if facts.holds_trail_events:
                        stores.append(StoreToExport(arn, region_names[arn], facts.retention_days))
    entries = adopted_entries(tasks, managed, names)
    if propose and role_arn:
        exported = frozenset(t.source for t in tasks if t.source) | frozenset(
            r.identity.source for r in state.exports.values()
        )
        entries += proposed_entries(stores, exported, role_arn, datetime.now(UTC))
    what = "existing task(s) pinned" + (" and proposed export(s)" if propose else "")
    text = render_exports(
        entries, what=what, schema_ref=_schema_ref(out), generated_at=datetime.now(UTC)
    )
    if out:
        with open(out, "w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
    click.echo(
        f"Wrote {len(entries)} export entr{'y' if len(entries) == 1 else 'ies'} to "
        f"{out or 'stdout'}; run `reconcile validate` and `reconcile plan` next: a pinned task "
        "shows adopt, a proposal create.",
        err=True,
    )
    return ExitCode.OK
