"""A saved plan is not trusted blindly: an edited plan file is refused by `show` and `apply`.

Each case writes a real plan (`reconcile plan --out` against the sandbox), edits it as JSON
the way a careless or hostile hand might, and checks that reading it names the entry and the
field, and that neither command shows a traceback or starts an import.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.app import execute, render
from reconciler.errors import ReconcileError
from reconciler.manifest import models
from reconciler.plan import saved_checks as planfile_checks
from reconciler.plan.saved import SavedPlan, read_plan_file, write_plan_file
from reconciler.sandbox import seed
from reconciler.spec import AccountAccess
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

EXAMPLES = str(Path(__file__).parents[1] / "manifests" / "examples")
AGAIN = "make the plan again (reconcile plan --out FILE)."
Document = dict[str, Any]
Tamper = Callable[[Document], list[str]]  # edits the document, returns what the error names


def make_plan(sandbox: SandboxClient, folder: Path, *extra: str) -> tuple[Path, list[str]]:
    """A plan file as `reconcile plan --out` writes it, and the options to apply it with."""
    saved = folder / "pr.plan"
    common = ["--state", str(folder / "state.json"), "--endpoint-url", sandbox.endpoint_url]
    assert execute(["plan", EXAMPLES, "--out", str(saved), *extra, *common]) == 0
    return saved, common


def import_count(sandbox: SandboxClient) -> int:
    """Imports AWS knows of, in both seeded Regions (counted in AWS, not in state)."""
    return sum(
        len(sandbox.client("cloudtrail", region).list_imports(MaxResults=1000)["Imports"])
        for region in seed.REGIONS
    )


@pytest.fixture(scope="module")
def written(sandbox: SandboxClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Document]:
    """One real plan document for the read-only cases (planning once keeps them fast)."""
    sandbox.reset(seed=True)
    path, _ = make_plan(sandbox, tmp_path_factory.mktemp("plan"))
    yield json.loads(path.read_text())


# -- the edits ------------------------------------------------------------------------------


def _starting(document: Document) -> Document:
    return next(a for a in document["actions"] if a["action"] == "create")


def _spec_of(document: Document, action: Document) -> Document:
    return next(s for s in document["specs"] if s["name"] == action["name"])


def add_spec_without_action(document: Document) -> list[str]:
    extra = copy.deepcopy(document["specs"][0])
    extra["name"] = "smuggled"
    extra["location"]["index"] = 99
    document["specs"].append(extra)
    return [f'specs[{len(document["specs"]) - 1}] ("smuggled") has no action']


def edit_spec_end(document: Document) -> list[str]:
    action = _starting(document)
    spec = _spec_of(document, action)
    old = spec["identity"]["end"]
    spec["identity"]["end"] = "2026-01-07T12:00:00Z"
    return [
        f'was edited: action "{action["name"]}" shows identity.end "{old}"',
        'says "2026-01-07T12:00:00Z"',
    ]


def setting(dotted: str, value: Any, *named: str, action: bool = False, field: str = "") -> Tamper:
    """Set one field of the first create action, or of its spec; the error names the field."""

    def tamper(document: Document) -> list[str]:
        target = _starting(document)
        if not action:
            target = _spec_of(document, target)
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
        return [field or f"field {dotted}", *named]

    return tamper


def remove_create_spec(document: Document) -> list[str]:
    action = _starting(document)
    document["specs"].remove(_spec_of(document, action))
    return [f'"{action["name"]}", create), field name', "no spec in the plan has this name"]


def option(key: str, value: Any, *named: str, field: str = "") -> Tamper:
    def tamper(document: Document) -> list[str]:
        document["options"][key] = value
        return [field or f"its options, field {key}", *named]

    return tamper


def duplicate_spec(document: Document) -> list[str]:
    document["specs"].append(copy.deepcopy(document["specs"][0]))
    return ["field name", "is there twice"]


def forget_with_spec(document: Document) -> list[str]:
    _starting(document)["action"] = "forget"
    return ["field action", "a spec in the plan has this name"]


def swap_actions(document: Document) -> list[str]:
    actions = document["actions"]
    actions[0], actions[1] = actions[1], actions[0]
    return ["is shown at position 1", "another order than shown"]


def overlap_consistently(document: Document) -> list[str]:
    """Spec and action edited alike (shown as run), but the range now overlaps another's."""
    names = {"demo-account-2026-01-05", "demo-account-2026-01-06"}
    for item in (*document["specs"], *document["actions"]):
        if item["name"] == "demo-account-2026-01-06":
            item["identity"]["start"] = "2026-01-05T12:00:00Z"
    assert names <= {s["name"] for s in document["specs"]}
    return ["field identity.start", "overlaps 'demo-account-2026-01-05'"]


def rename_from(previous: str | None, *named: str) -> Tamper:
    """The first create shown as a rename: moving another entry's record would lose its import."""

    def tamper(document: Document) -> list[str]:
        action = _starting(document)
        action.update(action="rename", previous_name=previous)
        return ["field previous_name", *named]

    return tamper


def unmanaged(**fields: Any) -> Tamper:
    def tamper(document: Document) -> list[str]:
        item = {"import_id": "x", "status": "COMPLETED", "account": seed.ACCOUNT}
        item.update(region="us-east-1", destination=None, created=None, **fields)
        document["unmanaged"] = [item]
        return ["unmanaged[0], field", *fields]

    return tamper


def edit_summary(document: Document) -> list[str]:
    document["summary"]["create"] += 5
    return ["summary.create is not as `reconcile plan --out` writes it"]


def unknown_spec_key(document: Document) -> list[str]:
    document["specs"][0]["exports"] = []
    return ["specs[0].exports is not as `reconcile plan --out` writes it"]


def unknown_action_key(document: Document) -> list[str]:
    document["actions"][0]["run_this"] = True
    return ["actions[0]", "field run_this: is not a field of a plan action"]


def access(**fields: Any) -> list[dict[str, Any]]:
    base = {"account": seed.ACCOUNT, "role_arn": seed.ROLE_ARN, "external_id": None}
    base.update(session_name=None, profile=None, location="m.yaml:3:3")
    return [{**base, **fields}]


OTHER_ROLE = "arn:aws:iam::123456789012:role/other"
ACCESS = "options.accounts[0]"
# The cases, also run through `show` and `apply --plan` below.
CLI_CASES: dict[str, Tamper] = {
    "spec-without-action": add_spec_without_action,
    "spec-end-edited": edit_spec_end,
    "name-path": setting("name", "../../etc", "../../etc"),
    "max-attempts-huge": setting("attributes.retry.max_attempts", 1000000, "from 1 to 20"),
    "max-attempts-bool": setting("attributes.retry.max_attempts", True, "not true"),
    "action-bad-arn": setting(
        "destination", "arn:aws:cloudtrail:us-east-1:123:eventdatastore/x", action=True
    ),
    "create-without-spec": remove_create_spec,
    "shard-zero": option("shard", [0, 2], "from 1 to 2; got 0"),
}
READ_CASES: dict[str, Tamper] = {
    **CLI_CASES,
    "action-bad-kind": setting("action", "explode", "explode", action=True),
    "action-account": setting(
        "account", "210987654321", "not that of its destination", action=True
    ),
    "action-region": setting("region", "us-west-2", action=True),
    "action-not-before": setting("not_before", "tomorrow", "YYYY-MM-DDTHH:MM:SSZ", action=True),
    "action-role-edited": setting(
        "attributes.role_arn", OTHER_ROLE, action=True, field="shows attributes.role_arn"
    ),
    "time-offset": setting("identity.start", "2026-01-07T00:00:00+00:00", "YYYY-MM-DDTHH:MM:SSZ"),
    "time-not-real": setting("identity.start", "2026-02-30T00:00:00Z", "is not a real time"),
    "start-after-end": setting(
        "identity.start", "2026-01-08T00:00:00Z", "is not after", field="field identity.end"
    ),
    "role-edited": setting("attributes.role_arn", OTHER_ROLE, field="shows attributes.role_arn"),
    "role-bad": setting("attributes.role_arn", "arn:aws:iam::1:role/x", "IAM role ARN"),
    "destination-bad": setting("identity.destination", "nope", "event data store ARN"),
    "bucket-region": setting("attributes.bucket_region", "mars-1", "Region name"),
    "source-uri": setting("identity.source_uri", "http://x/y", "S3 URI"),
    "import-id": setting("import_id", "abc", "ImportId"),
    "import-id-empty": setting("import_id", "", "ImportId or null"),
    "stopped-text": setting("attributes.retry.stopped", "yes", "true or false"),
    "max-attempts-zero": setting("attributes.retry.max_attempts", 0, "from 1 to 20"),
    "allow-overlap-int": setting("allow_overlap", 1, "true or false"),
    "location-index-text": setting("location.index", "3", "whole number"),
    "location-file": setting("location.file", None, "must be a string"),
    "retry-missing": setting("attributes.retry", {"stopped": False}, "is missing"),
    "rename-takes-an-entry": rename_from("demo-account-2026-01-05", "is an entry of the plan"),
    "rename-without-name": rename_from(None, "a rename needs the name it had"),
    "previous-name-not-rename": setting("previous_name", "old-name", "only a rename", action=True),
    "progress-count": setting(
        "progress",
        {"status": "IN_PROGRESS", "files_completed": "many"},
        action=True,
        field="field progress.files_completed",
    ),
    "failure-text": setting(
        "failures",
        [{"location": 1, "status": "FAILED", "error_type": "x", "error_message": "y"}],
        action=True,
        field="field failures[0].location",
    ),
    "unmanaged-id": unmanaged(import_id=5),
    "duplicate-spec": duplicate_spec,
    "forget-with-spec": forget_with_spec,
    "order-swapped": swap_actions,
    "overlap": overlap_consistently,
    "summary-edited": edit_summary,
    "unknown-spec-key": unknown_spec_key,
    "unknown-action-key": unknown_action_key,
    "targets-bad-name": option("targets", ["../x"], "../x"),
    "targets-not-list": option("targets", "demo", "list of entry names"),
    "replace-unknown": option("replace", ["nobody"], "is not a spec in the plan"),
    "scope-not-text": option("scope", [1], "list of strings"),
    "shard-past-count": option("shard", [3, 2], "from 1 to 2; got 3"),
    "shard-bool": option("shard", [True, 2], "whole number"),
    "retry-unknown": option("retry", ["nobody"], "is not a spec in the plan"),
    "queue-scope": option("queue_scope", "planet", "one of account, region"),
    "accounts-id": option("accounts", access(account="12345"), "12-digit", field=ACCESS),
    "accounts-role": option("accounts", access(role_arn="x"), "IAM role ARN", field=ACCESS),
    "accounts-elsewhere": option(
        "accounts", access(role_arn=f"arn:aws:iam::{seed.OTHER_ORG_ACCOUNT}:role/x"), field=ACCESS
    ),
    "accounts-both": option("accounts", access(profile="p"), "not both", field=ACCESS),
    "accounts-none": option("accounts", access(role_arn=None), "role_arn or profile", field=ACCESS),
    "accounts-scope": option("accounts", access(queue_scope="x"), "one of", field=ACCESS),
    "accounts-key": option("accounts", access(extra=1), "field extra", field=ACCESS),
    "accounts-twice": option("accounts", access() * 2, "twice", field="accounts[1], field account"),
}


def refusal(document: Document, folder: Path, tamper: Tamper) -> tuple[Path, list[str]]:
    edited = copy.deepcopy(document)
    named = tamper(edited)
    path = folder / "edited.plan"
    path.write_text(json.dumps(edited, indent=2))
    return path, named


@pytest.mark.parametrize("tamper", READ_CASES.values(), ids=READ_CASES.keys())
def test_edited_plan_file_is_refused_naming_the_field(
    written: Document, tmp_path: Path, tamper: Tamper
) -> None:
    path, named = refusal(written, tmp_path, tamper)
    with pytest.raises(ReconcileError) as raised:
        read_plan_file(str(path))
    message = str(raised.value)
    assert message.startswith(f"plan file {path} ")
    assert message.endswith(AGAIN)
    for words in named:
        assert words in message


@pytest.mark.parametrize("tamper", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_show_and_apply_refuse_an_edited_plan_and_start_nothing(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Tamper,
) -> None:
    saved, common = make_plan(clean_sandbox, tmp_path)
    path, named = refusal(json.loads(saved.read_text()), tmp_path, tamper)
    capsys.readouterr()
    for args in (["show", str(path)], ["apply", "--plan", str(path), "--auto-approve", *common]):
        code, out, err = invoke(args, capsys)
        assert code == 1, (args, out, err)
        assert "Traceback" not in err + out and "internal error" not in err
        assert all(words in err for words in named), err
        assert AGAIN in err
    assert import_count(clean_sandbox) == 0
    assert not (tmp_path / "state.json").exists()  # not even a state write


def test_unedited_plan_file_shows_and_applies(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved, common = make_plan(clean_sandbox, tmp_path)
    assert invoke(["show", str(saved)], capsys)[0] == 0
    code, _, err = invoke(["apply", "--plan", str(saved), "--auto-approve", *common], capsys)
    assert code == 0, err
    assert import_count(clean_sandbox) >= 1


def test_targeted_plan_keeps_every_spec_and_refuses_a_new_target(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """With --target, `plan --out` writes every desired spec but only the targets' actions."""
    target = "demo-account-2026-01-05"
    saved, _ = make_plan(clean_sandbox, tmp_path, "--target", target, "--shard", "1/1")
    loaded = read_plan_file(str(saved))
    assert [a.name for a in loaded.plan.actions] == [target]
    assert len(loaded.specs) == 4
    document = json.loads(saved.read_text())
    document["options"]["targets"].append("demo-account-2026-01-06")
    saved.write_text(json.dumps(document))
    with pytest.raises(ReconcileError, match="has no action in the plan"):
        read_plan_file(str(saved))


@pytest.mark.parametrize("kind", ["noop", "running", "attention", "forget"])
def test_actions_that_start_nothing_may_have_no_spec(
    written: Document, tmp_path: Path, kind: str
) -> None:
    def tamper(document: Document) -> list[str]:
        action = _starting(document)
        document["specs"].remove(_spec_of(document, action))
        action["action"] = kind
        document["summary"].update(create=0, **{kind: 1})
        return []

    loaded = read_plan_file(str(refusal(written, tmp_path, tamper)[0]))
    assert kind in {a.action.value for a in loaded.plan.actions}


def test_account_access_round_trips(written: Document, tmp_path: Path) -> None:
    loaded = read_plan_file(str(refusal(written, tmp_path, lambda d: [])[0]))
    roles = {seed.ACCOUNT: AccountAccess(seed.ACCOUNT, role_arn=seed.ROLE_ARN, location="m:1:1")}
    path = tmp_path / "accounts.plan"
    write_plan_file(str(path), SavedPlan(loaded.plan, loaded.specs, accounts=roles))
    assert read_plan_file(str(path)).accounts == roles


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict | list) and item:
            yield from _leaves(item, (*path, key))
        yield (*path, key)


def test_any_odd_value_anywhere_is_an_error_not_a_traceback(
    written: Document, tmp_path: Path
) -> None:
    """Every field set to each odd value: refused with a sentence, or read and rendered."""
    path = tmp_path / "odd.plan"
    for where in _leaves({k: v for k, v in written.items() if k != "unmanaged"}):
        for odd in (None, True, -1, "x", [], {}):
            edited = copy.deepcopy(written)
            parent = edited
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = odd
            path.write_text(json.dumps(edited))
            try:
                loaded = read_plan_file(str(path))
            except ReconcileError:
                continue
            for fmt in ("text", "json", "markdown"):
                render(loaded.plan, fmt, False)


def test_attempt_limit_matches_the_manifest_models() -> None:
    assert planfile_checks.MAX_ATTEMPTS_LIMIT == models.MAX_ATTEMPTS_LIMIT
