"""A manifest document checked by its pydantic models: every problem found, with its place.

`load.py` comes here for the files the fast path declines (every file with a problem, and the
shapes the fast path does not know). Each entry is checked on its own so that one bad entry
does not hide the others; friendly entries are merged with the file's defaults.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.manifest.context import FileContext, range_ok
from reconciler.manifest.models import (
    ApiEntry,
    Defaults,
    FriendlyEntry,
    ImportEntry,
    ManifestHeader,
    PreflightFields,
    RetryFields,
    SourceFields,
    entry_shape,
)
from reconciler.manifest.pydantic_errors import problems_from_validation
from reconciler.manifest.yamlsource import Position
from reconciler.spec import (
    AccountAccess,
    ImportSpec,
    PreflightPolicy,
    RetryPolicy,
    SourceLocation,
)

_HEADER = TypeAdapter(ManifestHeader)
_ENTRY: TypeAdapter[FriendlyEntry | ApiEntry] = TypeAdapter(ImportEntry)
_ENTRIES: TypeAdapter[list[FriendlyEntry | ApiEntry]] = TypeAdapter(list[ImportEntry])


def document_specs(context: FileContext, data: dict[Any, Any]) -> list[ImportSpec]:
    """The file's entries as specs; problems go to `context`, accounts to `context.accounts`."""
    try:
        header = _HEADER.validate_python(data)
    except ValidationError as exc:
        for path, message, at_key in problems_from_validation(exc, ManifestHeader):
            context.add(path, message, at_key=at_key)
        header = _HEADER.validate_python(_salvage_header(data))
    context.accounts.extend(_accounts(context, header))
    if header.exports:
        from reconciler.manifest.exports import export_specs

        context.exports.extend(export_specs(context, header.exports, header.defaults))
    starts = context.parsed.item_positions(("imports",))
    try:  # the usual case, all entries valid: one call into pydantic-core for the file
        entries: list[FriendlyEntry | ApiEntry | None] = list(
            _ENTRIES.validate_python(header.imports)
        )
    except ValidationError:  # check them one by one, to report each and keep the good ones
        entries = [_checked_entry(context, i, raw) for i, raw in enumerate(header.imports)]
    specs = []
    for index, entry in enumerate(entries):
        if entry is None:
            continue
        where = starts[index] if index < len(starts) else Position(1, 1)
        location = SourceLocation(context.path, index, where.line, where.column)
        if isinstance(entry, ApiEntry):
            spec = _from_api(context, ("imports", index), entry, location)
        else:
            spec = _from_friendly(context, ("imports", index), entry, header.defaults, location)
        if spec is not None:
            specs.append(spec)
    return specs


def _accounts(context: FileContext, header: ManifestHeader) -> list[AccountAccess]:
    """`accounts:` entries, each with exactly one way in (a role or a profile)."""
    found = []
    for account, access in (header.accounts or {}).items():
        path = ("accounts", account)
        if access.role_arn is not None and access.profile is not None:
            context.add(path, "give one of role_arn and profile, not both", at_key=True)
            continue
        if access.role_arn is None and access.profile is None and access.queue_scope is None:
            context.add(
                path,
                "give role_arn or profile (or queue_scope alone, for the run's own credentials)",
                at_key=True,
            )
            continue
        if access.role_arn is None and (access.external_id or access.session_name):
            context.add(path, "external_id and session_name go with role_arn")
            continue
        if access.role_arn is not None and f":{account}:role/" not in access.role_arn:
            context.add(
                (*path, "role_arn"),
                f"the role must be in account {account}, the account it gives access to",
            )
            continue
        where = context.parsed.position(path, at_key=True)
        found.append(
            AccountAccess(
                account=account,
                role_arn=access.role_arn,
                external_id=access.external_id,
                session_name=access.session_name,
                profile=access.profile,
                queue_scope=access.queue_scope,
                location=f"{context.path}:{where.line}:{where.column}",
            )
        )
    return found


def _salvage_header(data: dict[Any, Any]) -> dict[str, Any]:
    """What of a broken top level can still be used, so its entries get checked too."""
    imports = data.get("imports")
    defaults = data.get("defaults")
    try:
        Defaults.model_validate(defaults)
        good_defaults = defaults
    except ValidationError:
        good_defaults = None
    accounts = data.get("accounts")
    good_accounts = {}
    for account, access in accounts.items() if isinstance(accounts, dict) else ():
        try:
            _HEADER.validate_python({"version": 1, "accounts": {account: access}})
            good_accounts[account] = access
        except ValidationError:
            continue
    exports = data.get("exports")
    return {
        "version": 1,
        "defaults": good_defaults,
        "imports": imports if isinstance(imports, list) else [],
        "exports": exports if isinstance(exports, list) else [],
        "accounts": good_accounts,
    }


def _checked_entry(context: FileContext, index: int, raw: Any) -> FriendlyEntry | ApiEntry | None:
    try:
        return _ENTRY.validate_python(raw)
    except ValidationError as exc:
        model = ApiEntry if isinstance(raw, dict) and _is_api(raw) else FriendlyEntry
        for path, message, at_key in problems_from_validation(exc, model, tagged=True):
            context.add(("imports", index, *path), message, at_key=at_key)
        return None


def _is_api(raw: dict[Any, Any]) -> bool:
    return entry_shape(raw) == "api"


def _from_api(
    context: FileContext, base: tuple[str | int, ...], entry: ApiEntry, location: SourceLocation
) -> ImportSpec | None:
    end_path = (*base, "EndEventTime")
    if not range_ok(context, entry.StartEventTime, entry.EndEventTime, end_path, "StartEventTime"):
        return None
    s3 = entry.ImportSource.S3
    return ImportSpec(
        name=entry.name,
        destination=entry.Destinations[0],
        source_uri=s3.S3LocationUri,
        bucket_region=s3.S3BucketRegion,
        role_arn=s3.S3BucketAccessRoleArn,
        start=entry.StartEventTime,
        end=entry.EndEventTime,
        retry=_retry(entry.retry),
        location=location,
        import_id=entry.ImportId,
        allow_overlap=entry.allow_overlap,
        preflight=_preflight(entry.preflight, None),
    )


def _from_friendly(
    context: FileContext,
    base: tuple[str | int, ...],
    entry: FriendlyEntry,
    defaults: Defaults | None,
    location: SourceLocation,
) -> ImportSpec | None:
    fallback = defaults or Defaults()
    source = entry.source or SourceFields()
    default_source = fallback.source or SourceFields()
    values = {
        "destination": entry.destination or fallback.destination,
        "source.uri": source.uri or default_source.uri,
        "source.bucket_region": source.bucket_region or default_source.bucket_region,
        "source.role_arn": source.role_arn or default_source.role_arn,
    }
    missing = [key for key, value in values.items() if value is None]
    if missing:
        context.add(
            base,
            f"entry '{entry.name}' has no {', '.join(missing)}; set "
            f"{'it' if len(missing) == 1 else 'them'} on the entry or in this file's defaults",
        )
        return None
    start = entry.start_event_time or fallback.start_event_time
    end = entry.end_event_time or fallback.end_event_time
    end_path = (*base, "end_event_time") if entry.end_event_time else ("defaults", "end_event_time")
    if not range_ok(context, start, end, end_path, "start_event_time"):
        return None
    return ImportSpec(
        name=entry.name,
        destination=str(values["destination"]),
        source_uri=str(values["source.uri"]),
        bucket_region=str(values["source.bucket_region"]),
        role_arn=str(values["source.role_arn"]),
        start=start,
        end=end,
        retry=_merged_retry(entry.retry, fallback.retry),
        location=location,
        import_id=entry.import_id,
        allow_overlap=entry.allow_overlap,
        preflight=_preflight(entry.preflight, fallback.preflight),
    )


def _preflight(own: PreflightFields | None, default: PreflightFields | None) -> PreflightPolicy:
    """Keys the entry sets win, key by key, over the file's defaults."""
    merged: dict[str, Any] = {}
    for fields in (default, own):
        if fields is not None:
            merged.update(fields.model_dump(exclude_unset=True))
    return PreflightPolicy(
        ignore=frozenset(merged.get("ignore", ())), price_per_gb=merged.get("price_per_gb")
    )


def _merged_retry(own: RetryFields | None, default: RetryFields | None) -> RetryPolicy:
    """Keys the entry sets win; the others come from the file's defaults, then built-ins."""
    merged: dict[str, Any] = {}
    for layer in (default, own):
        if layer is not None:
            merged.update({key: getattr(layer, key) for key in layer.model_fields_set})
    return RetryPolicy(**merged)


def _retry(fields: RetryFields | None) -> RetryPolicy:
    if fields is None:
        return RetryPolicy()
    return RetryPolicy(max_attempts=fields.max_attempts, stopped=fields.stopped)
