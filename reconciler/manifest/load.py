"""Load manifest files into `ImportSpec`s, collecting every problem with file, line and column.

The work per file: read (size limit), decode (UTF-8), parse (yamlsource: duplicate keys, alias
bombs), validate the top level, then each entry on its own so that one bad entry does not hide
the others, merge friendly entries with the file's defaults, and check each range. Checks that
span files (unique names, overlapping ranges) run once every file is in (`manifest_checks`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.fields import format_time
from reconciler.gcpause import gc_paused
from reconciler.manifest import checks as manifest_checks
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
from reconciler.manifest.problems import Problem, format_path
from reconciler.manifest.pydantic_errors import problems_from_validation
from reconciler.manifest.yamlsource import (
    MAX_FILE_BYTES,
    ParsedYaml,
    Position,
    YamlProblem,
    decode,
    parse,
)
from reconciler.spec import (
    AccountAccess,
    ImportSpec,
    PreflightPolicy,
    RetryPolicy,
    SourceLocation,
)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

_HEADER = TypeAdapter(ManifestHeader)
_ENTRY: TypeAdapter[FriendlyEntry | ApiEntry] = TypeAdapter(ImportEntry)
_ENTRIES: TypeAdapter[list[FriendlyEntry | ApiEntry]] = TypeAdapter(list[ImportEntry])


@dataclass(frozen=True)
class ManifestFile:
    path: str
    sha256: str


@dataclass
class LoadResult:
    files: list[ManifestFile] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accounts: dict[str, AccountAccess] = field(default_factory=dict)


def find_manifest_files(paths: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """Expand PATHS: files as given, directories recursively (manifest suffixes), sorted."""
    found: list[str] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(
                str(p)
                for p in path.rglob("*")
                if p.suffix.lower() in MANIFEST_SUFFIXES and p.is_file()
            )
            if not inside:
                problems.append(
                    Problem(given, 1, 1, "", "no manifest files (*.yaml, *.yml, *.json) found here")
                )
            found.extend(inside)
        elif path.is_file():
            found.append(str(path))
        elif path.exists():
            problems.append(
                Problem(
                    given,
                    1,
                    1,
                    "",
                    "is not a regular file or a folder (a FIFO, device or socket would be read "
                    "forever); give a manifest file or a folder of them",
                )
            )
        else:
            problems.append(Problem(given, 1, 1, "", "no such file or directory"))
    unique = sorted(set(found))
    return unique, problems


def _read(path: str) -> bytes:
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise YamlProblem(
            f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for a manifest; "
            "split it into several files"
        )
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


@dataclass
class _FileContext:
    """One file being loaded: where problems go and how paths become positions."""

    path: str
    parsed: ParsedYaml
    problems: list[Problem]
    accounts: list[AccountAccess] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str, *, at_key: bool = False) -> None:
        where = self.parsed.position(path, at_key=at_key)
        self.problems.append(
            Problem(self.path, where.line, where.column, format_path(path), message)
        )


def load_manifests(paths: Sequence[str], started: frozenset[str] | None = None) -> LoadResult:
    """Every file in PATHS, checked; `started` (names whose import started, from state)
    lets overlap advice name only entries that can still change."""
    with gc_paused():
        return _load_manifests(paths, started)


def _load_manifests(paths: Sequence[str], started: frozenset[str] | None) -> LoadResult:
    result = LoadResult()
    files, result.problems = find_manifest_files(paths)
    parsed_files: dict[str, ParsedYaml] = {}
    for path in files:
        try:
            raw = _read(path)
            parsed = parse(decode(raw))
        except YamlProblem as problem:
            where = problem.position
            result.problems.append(Problem(path, where.line, where.column, "", problem.message))
            continue
        except OSError as exc:
            result.problems.append(Problem(path, 1, 1, "", f"cannot read: {exc.strerror}"))
            continue
        result.files.append(ManifestFile(path, hashlib.sha256(raw).hexdigest()))
        parsed_files[path] = parsed
        context = _FileContext(path, parsed, result.problems)
        result.imports.extend(_load_document(context))
        _merge_accounts(result, context)
    result.problems.extend(
        manifest_checks.cross_file_problems(result.imports, parsed_files, started)
    )
    result.problems.sort(key=lambda p: (p.file, p.line, p.column, p.field, p.message))
    return result


def _merge_accounts(result: LoadResult, context: _FileContext) -> None:
    """Several files may describe one account, but they must agree."""
    for access in context.accounts:
        earlier = result.accounts.setdefault(access.account, access)
        if earlier is not access and earlier.settings() != access.settings():
            line, column = (int(part) for part in access.location.rsplit(":", 2)[1:])
            result.problems.append(
                Problem(
                    context.path,
                    line,
                    column,
                    f"accounts.{access.account}",
                    f"account {access.account} is also described at {earlier.location} "
                    f"({earlier.describe()}), differently; keep one description",
                )
            )


def _load_document(context: _FileContext) -> Iterable[ImportSpec]:
    parsed = context.parsed
    for path, where in parsed.duplicate_keys:
        key = path[-1]
        context.problems.append(
            Problem(
                context.path,
                where.line,
                where.column,
                format_path(path),
                f"duplicate key '{key}'; YAML would silently keep only the last one, so remove one",
            )
        )
    data = parsed.data
    if data is None:
        context.add((), "file is empty; a manifest needs at least 'version: 1'")
        return []
    if not isinstance(data, dict):
        context.add(
            (),
            f"a manifest must be a mapping with keys version, defaults, imports; got a "
            f"{_kind(data)}",
        )
        return []
    try:
        header = _HEADER.validate_python(data)
    except ValidationError as exc:
        for path, message, at_key in problems_from_validation(exc, ManifestHeader):
            context.add(path, message, at_key=at_key)
        header = _HEADER.validate_python(_salvage_header(data))
    context.accounts.extend(_accounts(context, header))
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


def _accounts(context: _FileContext, header: ManifestHeader) -> list[AccountAccess]:
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
    return {
        "version": 1,
        "defaults": good_defaults,
        "imports": imports if isinstance(imports, list) else [],
        "accounts": good_accounts,
    }


def _checked_entry(context: _FileContext, index: int, raw: Any) -> FriendlyEntry | ApiEntry | None:
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
    context: _FileContext, base: tuple[str | int, ...], entry: ApiEntry, location: SourceLocation
) -> ImportSpec | None:
    end_path = (*base, "EndEventTime")
    if not _range_ok(context, entry.StartEventTime, entry.EndEventTime, end_path, "StartEventTime"):
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
    context: _FileContext,
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
    if not _range_ok(context, start, end, end_path, "start_event_time"):
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


def _range_ok(
    context: _FileContext,
    start: datetime | None,
    end: datetime | None,
    end_path: tuple[str | int, ...],
    start_field: str,
) -> bool:
    if start is not None and end is not None and not start < end:
        context.add(
            end_path,
            f"must be after {start_field} ({format_time(end)} is not after {format_time(start)})",
        )
        return False
    return True


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


__all__ = ["LoadResult", "ManifestFile", "Position", "find_manifest_files", "load_manifests"]
