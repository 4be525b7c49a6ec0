"""`reconciler.adopt`: names, overlap marking, open ranges, skipping, and YAML that loads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.adopt import (
    adopt,
    entry_name,
    managed_import_ids,
    observe_imports,
    render_yaml,
    scalar,
    store_label,
)
from reconciler.cli import run
from reconciler.fields import NAME_RE
from reconciler.manifest.load import load_manifests
from reconciler.observed import ObservedImport
from reconciler.spec import Identity
from reconciler.state.document import ImportRecord, StateDocument

ACCOUNT = "123456789012"
EAST = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/0a1b2c3d-0000-4000-8000-000000000001"
WEST = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:eventdatastore/9f8e7d6c-0000-4000-8000-000000000002"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LakeImport"
URI = f"s3://trail-logs/AWSLogs/{ACCOUNT}/"
NAMES = {EAST: "payments-store"}


def at(day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, 0, second, tzinfo=UTC)


DAY_1, DAY_1_END = at(1), datetime(2024, 1, 1, 23, 59, 59, tzinfo=UTC)


def uuid(n: int, prefix: str = "") -> str:
    text = prefix or f"{n:08x}"
    return f"{text}-1111-4222-8333-{n:012x}"


def observed(
    n: int,
    start: datetime | None = DAY_1,
    end: datetime | None = DAY_1_END,
    *,
    destination: str = EAST,
    uri: str = URI,
    status: str = "COMPLETED",
    created: datetime | None = None,
    role: str | None = ROLE,
    import_id: str | None = None,
) -> ObservedImport:
    return ObservedImport(
        import_id=import_id or uuid(n),
        status=status,
        account=ACCOUNT,
        region=destination.split(":")[3],
        destination=destination,
        created=created or datetime(2024, 3, 1, 0, 0, n, tzinfo=UTC),
        detailed=True,
        source_uri=uri,
        start=start,
        end=end,
        bucket_region="us-east-1",
        role_arn=role,
    )


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "adopted.yaml"
    path.write_text(text)
    result = load_manifests([str(path)])
    assert result.problems == [], "\n".join(p.format() for p in result.problems)
    return result


def by_import_id(entries: Sequence[Any]) -> dict[str, Any]:
    return {entry.observed.import_id: entry for entry in entries}


# -- names ------------------------------------------------------------------------------------


def test_name_uses_store_name_start_date_and_import_id_prefix() -> None:
    name = entry_name(observed(1, start=at(2, 5)), NAMES, set())
    assert name == "adopted-payments-store-2024-01-02-00000001"
    assert NAME_RE.match(name)


def test_name_falls_back_to_store_id_prefix_and_open_start() -> None:
    name = entry_name(observed(1, start=None, destination=WEST), {}, set())
    assert name == "adopted-9f8e7d6c-open-00000001"


def test_store_names_are_made_safe_and_short() -> None:
    label = store_label(EAST, {EAST: "  Payments (prod) / ünïcode " + "x" * 80})
    assert label.startswith("Payments-prod-")
    assert len(label) <= 40 and NAME_RE.match(label)


def test_names_stay_unique_when_import_id_prefixes_collide() -> None:
    same_prefix = [observed(n, import_id=uuid(n, "abcdef01")) for n in (1, 2)]
    names = [entry.name for entry in adopt(same_prefix, NAMES).entries]
    assert len(set(names)) == 2
    assert names[0] == "adopted-payments-store-2024-01-01-abcdef01"
    assert names[1] == f"adopted-payments-store-2024-01-01-{uuid(2, 'abcdef01')}"
    assert all(NAME_RE.match(name) for name in names)


# -- overlaps ---------------------------------------------------------------------------------


def test_twins_with_one_identity_mark_the_later_created_one() -> None:
    older = observed(1, created=datetime(2024, 3, 1, tzinfo=UTC))
    newer = observed(2, created=datetime(2024, 3, 2, tzinfo=UTC))
    entries = by_import_id(adopt([newer, older], NAMES).entries)
    assert entries[older.import_id].allow_overlap is False
    assert entries[newer.import_id].overlaps == entries[older.import_id].name


def test_touching_and_nested_ranges_overlap_but_disjoint_and_other_stores_do_not() -> None:
    first = observed(1, at(1), at(2))
    touching = observed(2, at(2), at(3))  # closed ranges: end == start overlaps
    disjoint = observed(3, at(3, 0, 1), at(4))
    nested = observed(4, at(3, 12), at(3, 13), uri=URI + "CloudTrail/us-east-1/")
    other_store = observed(5, at(1), at(2), destination=WEST)
    sibling = observed(6, at(1), at(2), uri="s3://trail-logs/AWSLogs-old/")
    imports = [first, touching, disjoint, nested, other_store, sibling]
    marked = {
        entry.observed.import_id for entry in adopt(imports, NAMES).entries if entry.allow_overlap
    }
    assert marked == {touching.import_id, nested.import_id}


def test_open_ranges_overlap_everything_after_or_before_them() -> None:
    open_end = observed(1, at(5), None)
    later = observed(2, at(20), at(21))
    open_both = observed(3, None, None, destination=WEST)
    entries = adopt([open_end, later, open_both], NAMES).entries
    assert [e.observed.import_id for e in entries if e.allow_overlap] == [later.import_id]


# -- YAML -------------------------------------------------------------------------------------


def test_yaml_loads_as_pinned_entries_with_defaults(tmp_path: Path) -> None:
    imports = [
        observed(1, at(1), at(2), status="FAILED"),
        observed(2, at(1), at(2)),
        observed(3, None, at(9)),
        observed(4, at(10), None, status="STOPPED"),
    ]
    adoption = adopt(imports, NAMES)
    text = render_yaml(adoption, regions=["us-east-1"], generated_at=at(30))
    assert text.startswith("# yaml-language-server: $schema=../manifest.schema.json\n")
    assert "\nversion: 1\n" in text
    document = yaml.safe_load(text)
    assert document["defaults"] == {
        "destination": EAST,
        "source": {"bucket_region": "us-east-1", "role_arn": ROLE},
    }
    assert f"# FAILED import {uuid(1)}, created 2024-03-01T00:00:01Z" in text
    assert "these events are already stored twice in the Lake" in text
    specs = {spec.import_id: spec for spec in load(tmp_path, text).imports}
    assert set(specs) == {o.import_id for o in imports}
    for found in imports:
        spec = specs[found.import_id]
        assert spec.identity == Identity(EAST, URI, found.start, found.end)
        assert (spec.bucket_region, spec.role_arn) == ("us-east-1", ROLE)
    assert specs[uuid(1)].retry.max_attempts == 1  # FAILED: apply does not retry it unasked
    assert specs[uuid(4)].retry.max_attempts == 3
    # File order puts the open-start entry first; both closed ones inside its range come later.
    assert [spec.import_id for spec in load(tmp_path, text).imports] == [
        uuid(3),
        uuid(1),
        uuid(2),
        uuid(4),
    ]
    assert {i for i, spec in specs.items() if spec.allow_overlap} == {uuid(1), uuid(2)}


def test_every_overlap_validate_would_refuse_is_allowed(tmp_path: Path) -> None:
    imports = [observed(n, at(1 + n % 3), at(2 + n % 3, 12)) for n in range(1, 10)]
    imports += [
        observed(20, None, None, destination=WEST),
        observed(21, at(1), None, destination=WEST),
    ]
    text = render_yaml(adopt(imports, {}))
    specs = load(tmp_path, text).imports
    assert len(specs) == len(imports)
    assert "defaults:\n  source:" in text  # destinations differ; bucket Region and role do not


def test_validate_command_accepts_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "adopted.yaml"
    path.write_text(render_yaml(adopt([observed(1), observed(2), observed(3, destination=WEST)])))
    with pytest.raises(SystemExit) as exited:
        run(["validate", str(path)])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    assert "3 import(s): valid." in out


def test_no_imports_is_still_a_valid_manifest(tmp_path: Path) -> None:
    text = render_yaml(adopt([]))
    assert text.endswith("version: 1\nimports: []\n")
    assert load(tmp_path, text).imports == []


def test_unrepresentable_imports_are_skipped_with_a_reason() -> None:
    adoption = adopt([observed(1, at(1), at(1)), observed(2, role=None), observed(3)])
    assert [entry.observed.import_id for entry in adoption.entries] == [uuid(3)]
    reasons = {item.import_id: item.reason for item in adoption.skipped}
    assert "start must be before end" in reasons[uuid(1)]
    assert "role ARN" in reasons[uuid(2)]


@pytest.mark.parametrize("value", ["true", "123", "a: b", "null", "#x", "2024-01-01", "x y"])
def test_scalars_that_yaml_would_change_are_quoted(value: str) -> None:
    assert yaml.safe_load(f"key: {scalar(value)}")["key"] == value


# -- observing --------------------------------------------------------------------------------


class FakeReader:
    def __init__(self, imports: Sequence[ObservedImport]) -> None:
        self.imports = {o.import_id: o for o in imports}
        self.got: list[str] = []

    def list_imports(self, region: str) -> list[ObservedImport]:
        return [
            ObservedImport(o.import_id, o.status, o.account, o.region, o.destination)
            for o in self.imports.values()
            if o.region == region
        ]

    def get_import(self, region: str, import_id: str) -> ObservedImport:
        self.got.append(import_id)
        return self.imports[import_id]


def test_observe_filters_by_destination_and_skips_managed_without_get_import() -> None:
    reader = FakeReader([observed(1), observed(2), observed(3, destination=WEST)])
    state = StateDocument.empty().with_records(
        {
            "old": ImportRecord(
                name="old",
                manifest_file="m.yaml",
                identity=Identity(EAST, URI, at(1), at(1, 23, 59)),
                bucket_region="us-east-1",
                role_arn=ROLE,
                max_attempts=3,
                retry_stopped=False,
                spec_hash="x",
                import_id=uuid(1),
            )
        }
    )
    managed = managed_import_ids(state)
    assert managed == {uuid(1)}
    found, skipped = observe_imports(reader, ["us-east-1", "us-west-2"], [EAST], managed)
    assert [o.import_id for o in found] == [uuid(2)]
    assert [(s.import_id, s.reason) for s in skipped] == [(uuid(1), "already managed in state")]
    assert reader.got == [uuid(2)]
    everything, _ = observe_imports(reader, ["us-east-1", "us-west-2", "us-east-1"])
    assert sorted(o.import_id for o in everything) == [uuid(1), uuid(2), uuid(3)]
