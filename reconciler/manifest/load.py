"""Load manifest files into `ImportSpec`s, collecting every problem with file, line and column.

The work per file: read (size limit), decode (UTF-8), parse (yamlsource: duplicate keys, alias
bombs), then check the document. A document of the common shape with nothing wrong goes
through `fastpath` (plain checks, no pydantic import); any other, and every one with a problem,
through `modelled` (the pydantic models: every problem found, worded and placed). Checks that
span files (unique names, overlapping ranges) run once every file is in (`manifest_checks`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.exportspec import ExportSpec
from reconciler.gcpause import gc_paused
from reconciler.manifest import checks as manifest_checks
from reconciler.manifest import fastpath
from reconciler.manifest.context import FileContext
from reconciler.manifest.problems import Problem, format_path
from reconciler.manifest.yamlsource import (
    MAX_FILE_BYTES,
    ParsedYaml,
    Position,
    YamlProblem,
    decode,
    parse,
)
from reconciler.spec import AccountAccess, ImportSpec

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class ManifestFile:
    path: str
    sha256: str


@dataclass
class LoadResult:
    files: list[ManifestFile] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
    exports: list[ExportSpec] = field(default_factory=list)
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
        context = FileContext(path, parsed, result.problems)
        result.imports.extend(_load_document(context))
        result.exports.extend(context.exports)
        _merge_accounts(result, context)
    result.problems.extend(
        manifest_checks.cross_file_problems(result.imports, parsed_files, started, result.exports)
    )
    result.problems.sort(key=lambda p: (p.file, p.line, p.column, p.field, p.message))
    return result


def _merge_accounts(result: LoadResult, context: FileContext) -> None:
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


def _load_document(context: FileContext) -> Iterable[ImportSpec]:
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
            f"a manifest must be a mapping with keys version, defaults, imports, exports; got a "
            f"{_kind(data)}",
        )
        return []
    specs = fastpath.document_specs(context.path, data, parsed)
    if specs is not None:
        return specs
    # pydantic, only for files the fast path declines (anything unusual, every error)
    from reconciler.manifest import modelled

    return modelled.document_specs(context, data)


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


__all__ = ["LoadResult", "ManifestFile", "Position", "find_manifest_files", "load_manifests"]
