"""How apply's steps change a record: adoption keeps what the import was started with."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.apply import records
from reconciler.plan.types import Action, ActionKind, Change, IdentityView
from reconciler.spec import ImportSpec, RetryPolicy, SourceLocation

STORE = (
    "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/0b5c4a3e-1111-2222-3333-444455556666"
)
OLD, NEW = "arn:aws:iam::123456789012:role/Old", "arn:aws:iam::123456789012:role/New"


def test_adoption_records_the_role_the_import_started_with() -> None:
    spec = ImportSpec(
        name="a", destination=STORE, source_uri="s3://b", bucket_region="us-east-1",
        role_arn=NEW, start=None, end=None, retry=RetryPolicy(),
        location=SourceLocation("m.yaml", 0),
    )  # fmt: skip
    adopt = Action(
        "a", ActionKind.ADOPT, "adopt", "123456789012", "us-east-1", STORE,
        "11111111-1111-4111-8111-111111111111", IdentityView(STORE, "s3://b", None, None),
        changes=(Change("role_arn", OLD, NEW),),
    )  # fmt: skip
    record = records.adopted(spec, adopt, None, datetime(2026, 1, 1, tzinfo=UTC))
    assert record.role_arn == OLD and record.import_id == adopt.import_id
