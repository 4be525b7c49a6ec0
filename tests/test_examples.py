"""The example manifests are valid and name exactly what the sandbox seeds."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifest.load import load_manifests
from reconciler.sandbox import seed

EXAMPLES = Path(__file__).parent.parent / "manifests" / "examples"


def test_examples_are_valid_and_use_both_shapes() -> None:
    result = load_manifests([str(EXAMPLES)])
    assert [p.format() for p in result.problems] == []
    assert len(result.imports) >= 3
    assert any(path.suffix == ".json" for path in EXAMPLES.iterdir())


def test_examples_point_at_the_seeded_sandbox() -> None:
    seeded_stores = {seed.MANAGEMENT_STORE_ARN, seed.WEST_STORE_ARN}
    for spec in load_manifests([str(EXAMPLES)]).imports:
        assert spec.destination in seeded_stores, spec.name
        assert spec.role_arn == seed.ROLE_ARN
        assert spec.source_uri in (seed.SINGLE_ACCOUNT_URI, seed.ORGANIZATION_URI)
        assert spec.bucket_region == seed.BUCKET_REGION
        assert spec.start is not None and spec.end is not None
        assert seed.SEEDED_START <= spec.start < spec.end < seed.SEEDED_END
