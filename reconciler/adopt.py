"""`reconcile adopt`: turn imports that already exist in AWS into manifest entries.

A team that imported history by hand (console, AWS CLI) brings it under management by writing
one friendly entry per import, pinned with `import_id` (explicit adoption, DESIGN.md
"Identity"): plan then adopts exactly that import, even when several share an identity, and
never creates one. The steps are pure except `observe_imports`, which reads through any object
with LakeReader's `list_imports`/`get_import` (no boto3 here):

    observe_imports -> adopt -> render_yaml

Adopted imports already happened, so ranges that overlap are facts, not mistakes: the later
entry (in file order) gets `allow_overlap: true`, decided by the same check `validate` runs
(`manifest_checks.overlapping_ranges`), so the file always validates. FAILED imports get
`retry.max_attempts: 1`: adoption itself never makes apply start anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import yaml
from pydantic import ValidationError

from reconciler.fields import EVENT_DATA_STORE_ARN_RE, format_time
from reconciler.manifest import checks as manifest_checks
from reconciler.manifest.models import FriendlyEntry
from reconciler.observed import ObservedImport
from reconciler.ports import ImportReader
from reconciler.spec import ImportSpec, RetryPolicy, SourceLocation
from reconciler.state.document import StateDocument

DEFAULT_SCHEMA_REF = "../manifest.schema.json"  # manifests/*.yaml next to the committed schema
NAME_PREFIX = "adopted"
STORE_LABEL_MAX = 40  # keeps names well under NAME_RE's 128 characters
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_OVERLAPS_NAME = re.compile(r"overlaps '([^']+)'")
_PLAIN_SCALAR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+=,-]*$")


@dataclass(frozen=True)
class Skipped:
    """An import that gets no entry, and why (printed by the CLI)."""

    import_id: str
    region: str
    reason: str


@dataclass(frozen=True)
class AdoptedEntry:
    name: str
    observed: ObservedImport
    overlaps: str | None = None  # set: this entry carries allow_overlap (name of an earlier one)

    @property
    def allow_overlap(self) -> bool:
        return self.overlaps is not None

    @property
    def max_attempts(self) -> int | None:
        """FAILED imports are not retried unless the user raises this (None: the default)."""
        return 1 if self.observed.status == "FAILED" else None


@dataclass(frozen=True)
class Adoption:
    entries: tuple[AdoptedEntry, ...]
    skipped: tuple[Skipped, ...] = ()


def managed_import_ids(state: StateDocument) -> frozenset[str]:
    """Every ImportId state knows: current imports and those of earlier attempts."""
    return frozenset(
        import_id
        for record in state.imports.values()
        for import_id in (record.import_id, *(a.import_id for a in record.attempts))
        if import_id
    )


def observe_imports(
    reader: ImportReader,
    regions: Iterable[str],
    destinations: Iterable[str] = (),
    managed: frozenset[str] = frozenset(),
) -> tuple[list[ObservedImport], list[Skipped]]:
    """Details of every import in `regions` (only into `destinations`, when any are given).

    ListImports names each import's destination, so GetImport is called only for the imports
    kept. Imports in `managed` (already in state) are skipped without a call.
    """
    wanted = frozenset(destinations)
    found: list[ObservedImport] = []
    skipped: list[Skipped] = []
    for region in dict.fromkeys(regions):
        for listed in reader.list_imports(region):
            if wanted and listed.destination not in wanted:
                continue
            if listed.import_id in managed:
                skipped.append(Skipped(listed.import_id, region, "already managed in state"))
                continue
            found.append(reader.get_import(region, listed.import_id))
    return found, skipped


def store_label(destination: str, store_names: Mapping[str, str]) -> str:
    """The store's name when known (safe for NAME_RE, shortened), else its ID's first part."""
    name = _UNSAFE_IN_NAME.sub("-", store_names.get(destination, ""))
    name = name.strip("-._")[:STORE_LABEL_MAX].rstrip("-._")
    if name:
        return name
    match = EVENT_DATA_STORE_ARN_RE.match(destination)
    store_id = match["id"] if match else destination.rsplit("/", 1)[-1]
    return _UNSAFE_IN_NAME.sub("-", store_id)[:8].strip("-._") or "store"


def entry_name(observed: ObservedImport, store_names: Mapping[str, str], taken: set[str]) -> str:
    """`adopted-<store>-<start date or 'open'>-<ImportId[:8]>`, unique among `taken`."""
    store = store_label(observed.destination or "", store_names)
    start = observed.start.astimezone(UTC).strftime("%Y-%m-%d") if observed.start else "open"
    for id_part in (observed.import_id[:8], observed.import_id):
        name = f"{NAME_PREFIX}-{store}-{start}-{id_part}"
        if name not in taken:
            break
    counter = 2
    base = name
    while name in taken:  # only if two imports share a whole ImportId: never in AWS
        name, counter = f"{base}-{counter}", counter + 1
    taken.add(name)
    return name


def _order(observed: ObservedImport) -> tuple[str, str, datetime, datetime, datetime, str]:
    """File order: by store and prefix, then time; the later of two overlapping comes second."""
    return (
        observed.destination or "",
        observed.source_uri or "",
        observed.start or _EARLIEST,
        observed.end or _LATEST,
        observed.created or _EARLIEST,
        observed.import_id,
    )


def _unrepresentable(observed: ObservedImport) -> str | None:
    """Why a manifest entry cannot describe this import, or None when it can."""
    missing = [
        label
        for label, value in (
            ("destination", observed.destination),
            ("source URI", observed.source_uri),
            ("bucket Region", observed.bucket_region),
            ("role ARN", observed.role_arn),
        )
        if not value
    ]
    if missing:
        return f"GetImport returned no {', '.join(missing)}"
    if observed.start and observed.end and not observed.start < observed.end:
        return (
            f"its range {format_time(observed.start)} .. {format_time(observed.end)} is not "
            "a span (start must be before end in a manifest)"
        )
    try:
        FriendlyEntry.model_validate(_entry_fields("x", observed, None))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(step) for step in first["loc"])
        return f"{where}: {first['msg']}"
    return None


def _spec(entry: AdoptedEntry, index: int) -> ImportSpec:
    observed = entry.observed
    return ImportSpec(
        name=entry.name,
        destination=observed.destination or "",
        source_uri=observed.source_uri or "",
        bucket_region=observed.bucket_region or "",
        role_arn=observed.role_arn or "",
        start=observed.start,
        end=observed.end,
        retry=RetryPolicy(),
        location=SourceLocation("adopted", index, line=index + 1, column=1),
    )


def _mark_overlaps(entries: list[AdoptedEntry]) -> list[AdoptedEntry]:
    """allow_overlap on exactly the entries `validate` would otherwise refuse."""
    specs = [_spec(entry, index) for index, entry in enumerate(entries)]
    marked = list(entries)
    for problem in manifest_checks.overlapping_ranges(specs, {}):
        index = problem.line - 1
        earlier = _OVERLAPS_NAME.search(problem.message)
        overlaps = earlier.group(1) if earlier else "an earlier entry"
        marked[index] = AdoptedEntry(entries[index].name, entries[index].observed, overlaps)
    return marked


def adopt(imports: Sequence[ObservedImport], store_names: Mapping[str, str] = {}) -> Adoption:
    """One entry per import that a manifest can describe, in file order, overlaps marked."""
    entries: list[AdoptedEntry] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()
    for observed in sorted(imports, key=_order):
        reason = _unrepresentable(observed)
        if reason:
            skipped.append(Skipped(observed.import_id, observed.region, reason))
            continue
        entries.append(AdoptedEntry(entry_name(observed, store_names, taken), observed))
    return Adoption(tuple(_mark_overlaps(entries)), tuple(skipped))


# -- YAML ------------------------------------------------------------------------------------


def _entry_fields(
    name: str, observed: ObservedImport, shared: Mapping[str, str] | None
) -> dict[str, object]:
    """The friendly entry as data, leaving out what `shared` (the file's defaults) holds."""
    shared = shared or {}
    source = {
        "uri": observed.source_uri,
        "bucket_region": observed.bucket_region,
        "role_arn": observed.role_arn,
    }
    fields: dict[str, object] = {"name": name}
    if "destination" not in shared:
        fields["destination"] = observed.destination
    fields["source"] = {key: value for key, value in source.items() if key not in shared}
    if observed.start:
        fields["start_event_time"] = format_time(observed.start)
    if observed.end:
        fields["end_event_time"] = format_time(observed.end)
    fields["import_id"] = observed.import_id
    return fields


def shared_values(entries: Sequence[AdoptedEntry]) -> dict[str, str]:
    """destination, bucket_region and role_arn that every entry has in common (2+ entries)."""
    if len(entries) < 2:
        return {}
    shared = {}
    for key in ("destination", "bucket_region", "role_arn"):
        values = {getattr(entry.observed, key) for entry in entries}
        if len(values) == 1:
            shared[key] = str(values.pop())
    return shared


def scalar(value: str) -> str:
    """A YAML scalar that reads back as exactly this string: plain when safe, else quoted."""
    if _PLAIN_SCALAR.match(value) and yaml.safe_load(value) == value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _time_scalar(value: object) -> str:
    return str(value)  # format_time's `...Z`: YAML reads it as an aware datetime, as intended


def _comment(entry: AdoptedEntry) -> list[str]:
    observed = entry.observed
    created = format_time(observed.created) if observed.created else "unknown"
    lines = [f"# {observed.status} import {observed.import_id}, created {created}"]
    if observed.status == "FAILED":
        lines.append(
            "# FAILED: apply will not retry it (retry.max_attempts: 1); raise max_attempts to "
            "let it"
        )
    elif observed.status == "STOPPED":
        lines.append("# STOPPED: apply retries it only with retry: {stopped: true}")
    return lines


def _entry_lines(entry: AdoptedEntry, shared: Mapping[str, str]) -> list[str]:
    fields = _entry_fields(entry.name, entry.observed, shared)
    lines = [f"  {text}" for text in _comment(entry)]
    first = True
    for key, value in fields.items():
        lead = "  - " if first else "    "
        first = False
        if isinstance(value, dict):
            if not value:
                continue
            lines.append(f"{lead}{key}:")
            lines += [f"      {k}: {scalar(str(v))}" for k, v in value.items()]
        elif key.endswith("_event_time"):
            lines.append(f"{lead}{key}: {_time_scalar(value)}")
        else:
            lines.append(f"{lead}{key}: {scalar(str(value))}")
    if entry.max_attempts is not None:
        lines.append(f"    retry: {{max_attempts: {entry.max_attempts}}}")
    if entry.allow_overlap:
        lines += [
            f"    # overlaps '{entry.overlaps}': these events are already stored twice in the Lake",
            "    allow_overlap: true",
        ]
    return lines


def render_yaml(
    adoption: Adoption,
    *,
    schema_ref: str = DEFAULT_SCHEMA_REF,
    generated_at: datetime | None = None,
    regions: Sequence[str] = (),
) -> str:
    """The manifest text: schema comment, `version: 1`, optional defaults, the entries."""
    entries = adoption.entries
    when = f" on {format_time(generated_at)}" if generated_at else ""
    where = f" in {', '.join(regions)}" if regions else ""
    lines = [
        f"# yaml-language-server: $schema={schema_ref}",
        f"# Written by `reconcile adopt`{when}: {len(entries)} existing import(s){where}.",
        "# Each entry pins its import with import_id: `reconcile plan` adopts it, nothing starts.",
        "version: 1",
    ]
    shared = shared_values(entries)
    if shared:
        lines.append("defaults:")
        if "destination" in shared:
            lines.append(f"  destination: {scalar(shared['destination'])}")
        source = {k: v for k, v in shared.items() if k != "destination"}
        if source:
            lines.append("  source:")
            lines += [f"    {key}: {scalar(value)}" for key, value in source.items()]
    if not entries:
        lines.append("imports: []")
        return "\n".join(lines) + "\n"
    lines.append("imports:")
    for entry in entries:
        lines += _entry_lines(entry, shared)
    return "\n".join(lines) + "\n"


__all__ = [
    "AdoptedEntry",
    "Adoption",
    "Skipped",
    "adopt",
    "entry_name",
    "managed_import_ids",
    "observe_imports",
    "render_yaml",
    "shared_values",
    "store_label",
]
