"""The manifest fast path (no pydantic) gives exactly what the pydantic models give, or declines.

The models are the source of truth: for any document, the fast path either declines (None) or
returns the very specs the models return for it, and then the models found no problem. The
documents come from pools of valid and broken values for every field, so most examples sit
near the edge between the two.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import fastpath, modelled
from reconciler.manifest.context import FileContext
from reconciler.manifest.models import MAX_ATTEMPTS_LIMIT
from reconciler.manifest.problems import Problem
from reconciler.manifest.yamlsource import parse
from reconciler.spec import ImportSpec

EDS = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-0000"
ROLE = "arn:aws:iam::123456789012:role/CloudTrailImport"
IMPORT_ID = "0a1b2c3d-1111-2222-3333-444455556666"


def _pool(valid: list[Any], broken: list[Any]) -> st.SearchStrategy[Any]:
    """Nine valid values in ten: a document of a dozen fields must often be valid as a whole.
    (One weighted list: Hypothesis favours the ends of a range and dedupes one_of branches.)"""
    copies = max(1, 9 * len(broken) // len(valid))
    return st.sampled_from(valid * copies + broken)


def _rarely(strategy: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    return st.sampled_from([False] * 9 + [True]).flatmap(lambda odd: other if odd else strategy)


NAMES = _pool(["web-2024", "a", "Logs.2023_q1"], ["", "has space", 5, None, "-lead"])
DESTINATIONS = _pool(
    [EDS, "arn:aws:cloudtrail:eu-west-1:210987654321:eventdatastore/other-store"],
    ["arn:aws:cloudtrail:us-east-1:1234:eventdatastore/x", 7, None, ""],
)
URIS = _pool(["s3://trail-logs/AWSLogs/", "s3://trail-logs"], ["http://x/", "s3://", 3, None])
REGIONS = _pool(["us-east-1", "eu-west-1"], ["mars-1", "", None, 1])
ROLES = _pool([ROLE], ["arn:aws:iam::1:role/x", "", None])
TIMES = _pool(
    ["2024-01-01T00:00:00Z", "2024-02-01", 1704067200, "2024-01-01T06:00:00+02:00", "2023-06-01"],
    ["2024-13-01", "1970-01-01T00:00:00", True, 1.5, None, -5, ""],
)
ATTEMPTS = _pool([1, 3, MAX_ATTEMPTS_LIMIT], [0, MAX_ATTEMPTS_LIMIT + 1, "3", True, None, 2.0])
BOOLS = _pool([True, False], ["yes", 1, None, 0])
IMPORT_IDS = _pool([IMPORT_ID, None, ""], ["x", 5, IMPORT_ID.upper()])
ODD = st.sampled_from([("preflight", {"ignore": []}), ("bogus", 1), (3, "int key")])

SOURCES = st.fixed_dictionaries(
    {}, optional={"uri": URIS, "bucket_region": REGIONS, "role_arn": ROLES}
) | st.sampled_from([None, "s3://x", []])
RETRIES = st.fixed_dictionaries({}, optional={"max_attempts": ATTEMPTS, "stopped": BOOLS})
SHARED = {
    "destination": DESTINATIONS,
    "source": SOURCES,
    "start_event_time": TIMES,
    "end_event_time": TIMES,
    "retry": RETRIES,
}


@st.composite
def _with_odd_key(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    value = draw(base)
    if isinstance(value, dict) and draw(st.sampled_from([False] * 9 + [True])):
        key, odd = draw(ODD)
        value = {**value, key: odd}
    return value


ENTRY_FIELDS = {**SHARED, "import_id": IMPORT_IDS, "allow_overlap": BOOLS}
# Loose: any key may be missing. Complete: what the common manifest looks like (names always,
# the source given whole in the defaults or on the entry), so that many documents are valid.
LOOSE_ENTRIES = st.fixed_dictionaries({}, optional={"name": NAMES, **ENTRY_FIELDS})
FULL_SOURCES = st.fixed_dictionaries({"uri": URIS, "bucket_region": REGIONS, "role_arn": ROLES})
COMPLETE_ENTRIES = st.fixed_dictionaries(
    {"name": NAMES},
    optional={**ENTRY_FIELDS, "source": FULL_SOURCES, "destination": DESTINATIONS},
)
COMPLETE_DEFAULTS = st.fixed_dictionaries(
    {"destination": DESTINATIONS, "source": FULL_SOURCES},
    optional={k: v for k, v in SHARED.items() if k not in ("destination", "source")},
)
ENTRIES = _with_odd_key(_rarely(COMPLETE_ENTRIES, LOOSE_ENTRIES))
VERSIONS = _pool([1], ["1", 1.0, True, 2, None])
LOOSE_DOCUMENTS = st.fixed_dictionaries(
    {"version": VERSIONS},
    optional={
        "defaults": st.fixed_dictionaries({}, optional=SHARED) | st.none(),
        "imports": st.lists(ENTRIES, max_size=3) | st.none(),
    },
)
COMMON_DOCUMENTS = st.fixed_dictionaries(
    {
        "version": VERSIONS,
        "defaults": _with_odd_key(COMPLETE_DEFAULTS),
        "imports": st.lists(ENTRIES, min_size=1, max_size=4),
    }
)
DOCUMENTS = _with_odd_key(_rarely(COMMON_DOCUMENTS, LOOSE_DOCUMENTS))
SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same examples every run: a red CI is never a dice roll
    suppress_health_check=[HealthCheck.too_slow],
)


def _both(
    document: dict[str, Any],
) -> tuple[list[ImportSpec] | None, list[ImportSpec], list[Problem]]:
    parsed = parse(yaml.safe_dump(document, allow_unicode=True))
    assert isinstance(parsed.data, dict)
    fast = fastpath.document_specs("m.yaml", parsed.data, parsed)
    problems: list[Problem] = []
    context = FileContext("m.yaml", parsed, problems)
    return fast, modelled.document_specs(context, parsed.data), problems


@SETTINGS
@given(document=DOCUMENTS)
def test_fast_path_gives_the_models_specs_or_declines(document: dict[str, Any]) -> None:
    fast, specs, problems = _both(document)
    if fast is None:
        return
    assert problems == []
    assert fast == specs
    assert repr(fast) == repr(specs)  # same time zones and types too, not only equal values


def test_fast_path_takes_the_common_shape() -> None:
    """Declining everything would pass the property above; the common document must be taken."""
    document = {
        "version": 1,
        "defaults": {
            "destination": EDS,
            "source": {"uri": "s3://trail-logs/", "bucket_region": "us-east-1", "role_arn": ROLE},
            "retry": {"max_attempts": 5},
        },
        "imports": [
            {"name": "q1", "start_event_time": "2024-01-01", "end_event_time": "2024-04-01"},
            {"name": "q2", "start_event_time": 1711929600, "retry": {"stopped": True}},
            {"name": "pinned", "import_id": IMPORT_ID, "allow_overlap": True},
        ],
    }
    fast, specs, problems = _both(document)
    assert problems == []
    assert fast is not None and fast == specs
    assert [s.retry.max_attempts for s in fast] == [5, 5, 5]
    assert fast[1].retry.stopped is True


def test_every_example_manifest_of_the_common_shape_is_taken() -> None:
    taken = 0
    for path in sorted(Path("manifests").rglob("*.yaml")):
        parsed = parse(path.read_text())
        if isinstance(parsed.data, dict) and "accounts" not in parsed.data:
            specs = fastpath.document_specs(str(path), parsed.data, parsed)
            taken += specs is not None
    assert taken >= 1


def test_limits_agree_with_the_models() -> None:
    assert fastpath.MAX_ATTEMPTS_LIMIT == MAX_ATTEMPTS_LIMIT


def test_validating_a_plain_manifest_does_not_import_pydantic(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "imports": [
                    {
                        "name": "one",
                        "destination": EDS,
                        "source": {
                            "uri": "s3://trail-logs/",
                            "bucket_region": "us-east-1",
                            "role_arn": ROLE,
                        },
                    }
                ],
            }
        )
    )
    probe = (
        "import sys\n"
        "from reconciler.cli import run\n"
        "try:\n"
        f"    run(['validate', {str(manifest)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr


@pytest.mark.parametrize(
    "extra",
    [
        {"exports": [{"name": "cw", "source": EDS, "role_arn": ROLE}]},
        {"defaults": {"destination": EDS, "exports": {"role_arn": ROLE}}},
    ],
)
def test_a_document_with_exports_goes_to_the_models(extra: dict[str, Any]) -> None:
    """The fast path knows imports only: taking such a file would drop its exports unseen."""
    document = {"version": 1, "imports": [], **extra}
    parsed = parse(yaml.safe_dump(document))
    assert fastpath.document_specs("m.yaml", parsed.data, parsed) is None
