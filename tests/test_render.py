"""Renderers: golden files for text, colour text, markdown and JSON, plus the properties
the golden files cannot show (schema, round trip, size limit, noop collapsing, escaping).

Run with UPDATE_GOLDEN=1 to rewrite tests/golden/* after a deliberate change, then review
the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from reconciler.plan.types import (
    Action,
    ActionKind,
    Basis,
    Change,
    Estimate,
    Failure,
    Finding,
    IdentityView,
    ManifestHash,
    Plan,
    Progress,
    Severity,
    UnmanagedImport,
)
from reconciler.render import (
    plan_schema,
    render_json,
    render_json_document,
    render_markdown,
    render_text,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reconcile-demo-import"
SOURCE = f"s3://reconcile-demo-trail/AWSLogs/{ACCOUNT}/CloudTrail/"


def _store(region: str = "us-east-1", account: str = ACCOUNT, name: str = "main") -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{name}-0000"


def _action(
    name: str,
    kind: ActionKind,
    reason: str,
    *,
    region: str = "us-east-1",
    account: str = ACCOUNT,
    start: str = "2024-01-01T00:00:00Z",
    end: str = "2024-06-30T23:59:59Z",
    line: int | None = 5,
    **extra: object,
) -> Action:
    destination = _store(region, account)
    return Action(
        name=name,
        action=kind,
        reason=reason,
        account=account,
        region=region,
        destination=destination,
        import_id=extra.pop("import_id", None),  # type: ignore[arg-type]
        identity=IdentityView(destination, SOURCE, start, end),
        attributes={
            "bucket_region": "us-east-1",
            "role_arn": ROLE,
            "retry": {"max_attempts": 3, "stopped": False},
        },
        manifest=f"manifests/imports.yaml:{line}:5" if line else None,
        **extra,  # type: ignore[arg-type]
    )


def _failures(count: int) -> tuple[Failure, ...]:
    return tuple(
        Failure(
            location=f"s3://reconcile-demo-trail/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/"
            f"2023/10/{day:02d}/part.json.gz",
            status="FAILED",
            error_type="AccessDenied",
            error_message="Access Denied",
            last_updated="2024-07-01T10:00:00Z",
        )
        for day in range(1, count + 1)
    )


def _uuid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def sample_plan() -> Plan:
    """One action of every kind (and noop with changes), in plan order, plus 2 unmanaged."""
    actions = (
        _action(
            "payments-2024-h1",
            ActionKind.CREATE,
            "Not imported yet, and no import in AWS has this identity.",
            line=5,
            queue_position=1,
            estimate=Estimate(4_380, 21_474_836_480, 214_748_364_800, 500.0),
        ),
        _action(
            "payments-2024-h2",
            ActionKind.QUEUED,
            "Waits for the import ahead of it: one import at a time per account and Region.",
            start="2024-07-01T00:00:00Z",
            end="2024-12-31T23:59:59Z",
            line=9,
            queue_position=2,
            blocked_by="payments-2024-h1",
            estimate=Estimate(4_416, 1_288_490_189, 12_884_901_890, 30.0),
            findings=(
                Finding(
                    code="objects-need-restore",
                    severity=Severity.WARNING,
                    message="3 of 4,416 log files in the range are archived (GLACIER)",
                    fix="Restore them first (aws s3api restore-object), then plan again.",
                ),
            ),
        ),
        _action(
            "payments-2023-q4",
            ActionKind.RETRY,
            "FAILED with 7 failed entries; attempt 2 of 3.",
            region="us-west-2",
            start="2023-10-01T00:00:00Z",
            end="2023-12-31T23:59:59Z",
            line=13,
            import_id=_uuid(1),
            queue_position=1,
            progress=Progress("FAILED", 4, 4, 1_200, 98_765, 7),
            failures=_failures(7),
        ),
        _action(
            "payments-2023-q3",
            ActionKind.QUEUED,
            "FAILED with 1 failed entry; attempt 2 of 3, after backoff at 2024-07-01T10:30:00Z.",
            region="us-west-2",
            start="2023-07-01T00:00:00Z",
            end="2023-09-30T23:59:59Z",
            line=15,
            import_id=_uuid(13),
            blocked_by="backoff until 2024-07-01T10:30:00Z",
            progress=Progress("FAILED", 2, 2, 300, 1_000, 1),
            failures=_failures(1),
        ),
        _action(
            "audit-2022",
            ActionKind.RUNNING,
            "IN_PROGRESS since 2024-07-01T09:00:00Z.",
            account=OTHER_ACCOUNT,
            start="2022-01-01T00:00:00Z",
            end="2022-12-31T23:59:59Z",
            line=17,
            import_id=_uuid(2),
            queue_position=1,
            progress=Progress("IN_PROGRESS", 10, 3, 120, 48_311, 2),
        ),
        _action(
            "audit-2021",
            ActionKind.PENDING,
            "StartImport was sent at 2024-07-01T09:58:00Z and its answer was lost; waiting "
            "until 2024-07-01T10:08:00Z for the import to appear before starting anything "
            "else in this account and Region.",
            region="eu-west-1",
            start="2021-01-01T00:00:00Z",
            end="2021-12-31T23:59:59Z",
            line=21,
            queue_position=1,
        ),
        _action(
            "legacy-2020",
            ActionKind.ADOPT,
            "No state record; exactly one import in AWS has this identity (COMPLETED).",
            start="2020-01-01T00:00:00Z",
            end="2020-12-31T23:59:59Z",
            line=25,
            import_id=_uuid(3),
        ),
        _action(
            "ops-2019",
            ActionKind.RENAME,
            "Same identity as ops-old-2019 in state: the record moves to the new name.",
            start="2019-01-01T00:00:00Z",
            end="2019-12-31T23:59:59Z",
            line=29,
            import_id=_uuid(4),
            previous_name="ops-old-2019",
        ),
        _action(
            "security-2024",
            ActionKind.REPLACE,
            "The identity changed (start_event_time); --replace security-2024 starts a new "
            "import. Events already imported stay in the event data store.",
            start="2024-02-01T00:00:00Z",
            end="2024-03-31T23:59:59Z",
            line=33,
            import_id=_uuid(5),
            queue_position=2,
            blocked_by="payments-2024-h2",
            changes=(Change("start", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"),),
        ),
        _action(
            "retired-2018",
            ActionKind.FORGET,
            "Its manifest entry is gone: the state record is dropped; the events stay.",
            start="2018-01-01T00:00:00Z",
            end="2018-12-31T23:59:59Z",
            line=None,
            import_id=_uuid(6),
        ),
        _action(
            "billing-2024",
            ActionKind.ATTENTION,
            "role_arn changed while the import is FAILED: a retry keeps the role it started "
            "with. Restore the old role or stop and replace the import.",
            region="us-west-2",
            start="2024-01-01T00:00:00Z",
            end="2024-03-31T23:59:59Z",
            line=37,
            import_id=_uuid(7),
            changes=(Change("role_arn", ROLE, ROLE.replace("import", "import-v2")),),
            failures=_failures(2),
            estimate=Estimate(7, 7_000, 70_000, 0.000163),
        ),
        _action(
            "payments-2024-extended",
            ActionKind.ATTENTION,
            "would create, but its range overlaps 1 import(s) already in the store.",
            start="2024-01-01T00:00:00Z",
            end="2024-07-31T23:59:59Z",
            line=41,
            findings=(
                Finding(
                    code="overlaps-existing-import",
                    severity=Severity.ERROR,
                    message=f"overlaps import {_uuid(9)} ('payments-2024-h1'), COMPLETED, "
                    "2024-01-01T00:00:00Z .. 2024-06-30T23:59:59Z, 98,765 events completed.",
                    fix="Import only the range that is new: give the entry this range instead."
                    "\n- name: payments-2024-extended\n  start_event_time: 2024-07-01T00:00:00Z"
                    "\n  end_event_time: 2024-07-31T23:59:59Z",
                ),
            ),
        ),
        _action(
            "archive-2017",
            ActionKind.NOOP,
            "COMPLETED; the new retry policy is recorded.",
            start="2017-01-01T00:00:00Z",
            end="2017-12-31T23:59:59Z",
            line=41,
            import_id=_uuid(8),
            changes=(Change("retry.max_attempts", 3, 5),),
        ),
        _action(
            "archive-2016",
            ActionKind.NOOP,
            "COMPLETED.",
            start="2016-01-01T00:00:00Z",
            end="2016-12-31T23:59:59Z",
            line=45,
            import_id=_uuid(9),
        ),
        _action(
            "archive-2015",
            ActionKind.NOOP,
            "COMPLETED.",
            start="2015-01-01T00:00:00Z",
            end="2015-12-31T23:59:59Z",
            line=49,
            import_id=_uuid(10),
        ),
    )
    unmanaged = (
        UnmanagedImport(_uuid(11), "COMPLETED", ACCOUNT, "us-east-1", _store(), None),
        UnmanagedImport(
            _uuid(12), "IN_PROGRESS", ACCOUNT, "us-west-2", None, "2024-07-01T08:00:00Z"
        ),
    )
    basis = Basis(
        state_lineage="5f0c6f4e-2d1b-4c8e-9a57-1d2e3f405162",
        state_serial=7,
        observed_fingerprint="9" * 64,
        observed_import_ids=tuple(_uuid(n) for n in range(1, 14)),
        manifests=(ManifestHash("manifests/imports.yaml", "a" * 64),),
    )
    total = Estimate(8_803, 22_763_333_669, 227_633_336_690, 530.000163)
    return Plan(basis, actions, unmanaged, created_at="2024-07-01T10:00:00Z", estimate=total)


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual + "\n")
    expected = path.read_text()
    assert actual + "\n" == expected, f"{name} differs; rerun with UPDATE_GOLDEN=1 and review"


def test_every_kind_is_in_the_sample() -> None:
    kinds = {action.action for action in sample_plan().actions}
    assert kinds == set(ActionKind)


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("plan.txt", lambda plan: render_text(plan)),
        ("plan.color.txt", lambda plan: render_text(plan, color=True)),
        ("plan.md", lambda plan: render_markdown(plan)),
        ("plan.truncated.md", lambda plan: render_markdown(plan, limit=4_000)),
        ("plan.json", lambda plan: render_json(plan)),
    ],
)
def test_golden(name: str, render: Callable[[Plan], str]) -> None:
    _check_golden(name, render(sample_plan()))


# --- text ----------------------------------------------------------------------------------


def test_text_without_colour_has_no_escape_codes_even_from_aws_messages() -> None:
    plan = sample_plan()
    evil = replace(
        plan.actions[2],
        failures=(replace(plan.actions[2].failures[0], error_message="bad\x1b[31mred\nline"),),
    )
    text = render_text(replace(plan, actions=(evil,)))
    assert "\x1b" not in text
    assert "bad\\x1b[31mred line" in text


def test_colour_only_adds_escape_codes() -> None:
    plan = sample_plan()
    coloured = render_text(plan, color=True)
    assert "    \x1b[32m+ create\x1b[0m    \x1b[1mpayments-2024-h1\x1b[0m\n" in coloured
    assert "    \x1b[36m> running\x1b[0m   \x1b[1maudit-2022\x1b[0m\n" in coloured
    assert "  \x1b[31m-/+ replace\x1b[0m   \x1b[1msecurity-2024\x1b[0m\n" in coloured
    assert ANSI.sub("", coloured) == render_text(plan)


def test_text_ends_with_the_summary_line() -> None:
    plan = sample_plan()
    assert render_text(plan).splitlines()[-1] == plan.summary_line()


def test_reason_wraps_at_width_but_arns_do_not_break() -> None:
    plan = sample_plan()
    text = render_text(plan, width=60)
    pending = text.split("? pending")[1].split("\n\n")[0]
    reason_lines = [line for line in pending.splitlines()[1:] if line.startswith(" " * 6)]
    assert all(len(line) <= 60 for line in reason_lines[:4])
    assert _store("eu-west-1") in text


def _noops(count: int) -> Plan:
    actions = tuple(
        _action(f"done-{n:03d}", ActionKind.NOOP, "COMPLETED.", import_id=_uuid(n))
        for n in range(count)
    )
    return replace(sample_plan(), estimate=None, actions=actions, unmanaged=())


def test_thirty_noops_collapse_into_one_line() -> None:
    text = render_text(_noops(30))
    assert text == "    = noop      30 unchanged imports (listed in the --json output)\n\n" + (
        "Plan: 30 unchanged."
    )
    markdown = render_markdown(_noops(30))
    assert "_30 unchanged imports_" in markdown
    assert "done-000" not in markdown


def test_twenty_noops_are_listed_one_line_each() -> None:
    text = render_text(_noops(20))
    assert text.count("= noop") == 20
    assert "    = noop      done-019: COMPLETED.\n" in text
    assert render_markdown(_noops(20)).count("`= noop`") == 20


def test_empty_plan() -> None:
    plan = replace(sample_plan(), estimate=None, actions=(), unmanaged=())
    assert render_text(plan) == "No imports in scope.\n\nPlan: nothing to do."
    assert render_markdown(plan) == "### Plan: nothing to do.\n\nNo imports in scope."


# --- markdown ------------------------------------------------------------------------------


def _many(count: int) -> Plan:
    actions = tuple(
        _action(
            f"import-{n:05d}",
            ActionKind.CREATE if n == 0 else ActionKind.QUEUED,
            "Not imported yet, and no import in AWS has this identity.",
            queue_position=n + 1,
            blocked_by=f"import-{n - 1:05d}" if n else None,
        )
        for n in range(count)
    )
    return replace(sample_plan(), estimate=None, actions=actions)


def test_markdown_of_5000_actions_stays_under_the_limit() -> None:
    markdown = render_markdown(_many(5_000))
    assert len(markdown) <= 65_000
    assert markdown.startswith("### Plan: 1 to create, 4,999 queued.\n")
    note = markdown.splitlines()[-1]
    assert re.fullmatch(
        r"_Truncated: [\d,]+ more actions not listed; details of [\d,]+ actions omitted; "
        r"2 unmanaged imports not listed; run `reconcile plan` locally or see the JSON "
        r"artifact\._",
        note,
    ), note
    shown = markdown.count("\n| `")
    hidden = int(note.split()[1].replace(",", ""))
    assert shown + hidden == 5_000
    assert "<details>" not in markdown


def test_markdown_drops_details_before_rows() -> None:
    plan = _many(40)
    full = render_markdown(plan, limit=10**9)
    assert "_Truncated" not in full
    rows_only = len(full.split("<details>")[0]) + 600
    markdown = render_markdown(plan, limit=rows_only)
    assert len(markdown) <= rows_only
    assert markdown.count("\n| `") == 40
    assert "more actions not listed" not in markdown
    assert "details of " in markdown.splitlines()[-1]


def test_markdown_escapes_user_text() -> None:
    plan = sample_plan()
    nasty = replace(
        plan.actions[2],
        name="a|b`c",
        reason="<script>alert(1)</script> **bold** @team",
        failures=(replace(plan.actions[2].failures[0], error_message="x | y\n`z`"),),
    )
    markdown = render_markdown(replace(plan, actions=(nasty,)))
    assert "a&#124;b&#96;c" in markdown
    assert "&#60;script&#62;" in markdown
    assert "<script>" not in markdown
    assert "&#42;&#42;bold&#42;&#42;" in markdown
    assert "&#64;team" in markdown
    assert "x &#124; y &#96;z&#96;" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| `~ retry`"))
    assert row.count("|") == 6  # the name's pipe does not add a cell


# --- JSON ----------------------------------------------------------------------------------


def test_json_validates_against_the_schema() -> None:
    schema = plan_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    document = json.loads(render_json(sample_plan()))
    jsonschema.Draft7Validator(schema).validate(document)
    assert list(document) == [
        "format_version",
        "created_at",
        "basis",
        "summary",
        "actions",
        "unmanaged",
    ]


def test_schema_rejects_what_the_plan_never_produces() -> None:
    validator = jsonschema.Draft7Validator(plan_schema())
    document = render_json_document(sample_plan())
    document["actions"][0]["action"] = "update"
    assert not validator.is_valid(document)
    document = render_json_document(sample_plan())
    del document["actions"][0]["blocked_by"]
    assert not validator.is_valid(document)
    document = render_json_document(sample_plan())
    document["actions"][0]["extra"] = 1
    assert not validator.is_valid(document)
    document = render_json_document(sample_plan())
    del document["summary"]["noop"]
    assert not validator.is_valid(document)


def test_schema_is_package_data() -> None:
    from importlib import resources

    assert resources.files("reconciler").joinpath("plan.schema.json").is_file()


def test_json_round_trips_through_plan_from_json() -> None:
    plan = sample_plan()
    text = render_json(plan)
    again = Plan.from_json(json.loads(text))
    assert again == plan
    assert render_json(again) == text
    assert render_json_document(plan) == json.loads(text)


def test_streamed_json_is_the_rendered_json() -> None:
    """`plan --json` writes the document in pieces (bounded memory at 10,000 actions); the
    text is exactly the rendered one, for a plan larger than one piece."""
    import io

    from reconciler.render.json_doc import write_json

    for plan in (sample_plan(), _many(300)):
        written = io.StringIO()
        write_json(plan, written)
        assert written.getvalue() == render_json(plan) + "\n"
