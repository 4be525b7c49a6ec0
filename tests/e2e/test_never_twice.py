"""Never twice, against the world: ordinary edits and neighbours must not duplicate events.

Each test does what a user or a neighbour would (rename an entry, lose the state, nudge a
range, drop a trailing slash, start an import by hand at the worst moment) against the
sandbox, and counts imports through boto3, never through our own state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import seed
from reconciler.state.local import LocalStateStore
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.e2e.test_apply_e2e import FAST_APPLY, imports_in

URI = seed.SINGLE_ACCOUNT_URI  # ends with "/"


def entry_manifest(folder: Path, *entries: dict[str, Any]) -> str:
    """Friendly entries into the management store: name, start, end (and uri, extra keys)."""
    lines = ["version: 1", "imports:"]
    for entry in entries:
        lines += [
            f"  - name: {entry['name']}",
            f"    destination: {seed.MANAGEMENT_STORE_ARN}",
            f"    source: {{uri: '{entry.get('uri', URI)}', bucket_region: us-east-1, "
            f"role_arn: '{seed.ROLE_ARN}'}}",
            f"    start_event_time: {entry['start']}",
            f"    end_event_time: {entry['end']}",
        ]
        lines += [f"    {key}: {value}" for key, value in entry.get("extra", {}).items()]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "imports.yaml").write_text("\n".join(lines) + "\n")
    return str(folder)


JAN_05 = {"name": "jan-05", "start": "2026-01-05T00:00:00Z", "end": "2026-01-05T23:59:59Z"}


def run(
    sandbox: SandboxClient, capsys: pytest.CaptureFixture[str], *args: str, state: Path
) -> tuple[int, str, str]:
    common = ["--state", str(state), "--endpoint-url", sandbox.endpoint_url, "--no-color"]
    return invoke([*args, *common], capsys)


def plan_document(
    sandbox: SandboxClient,
    capsys: pytest.CaptureFixture[str],
    paths: str,
    state: Path,
    *extra: str,
) -> dict[str, Any]:
    code, out, err = run(sandbox, capsys, "plan", paths, "--json", *extra, state=state)
    assert code == 0, err
    return dict(json.loads(out))


def one_completed(
    sandbox: SandboxClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> tuple[Path, str]:
    state = tmp_path / "state.json"
    before = {i["ImportId"] for i in imports_in(sandbox)}
    paths = entry_manifest(tmp_path / "m", JAN_05)
    code, out, _ = run(sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", state=state)
    assert code == 0, out
    [new] = [i for i in imports_in(sandbox) if i["ImportId"] not in before]
    assert new["ImportStatus"] == "COMPLETED"
    return state, new["ImportId"]


EDITS = {
    "rename plus a one-second edit": ({"name": "jan-05-renamed", "end": "2026-01-05T23:59:58Z"}),
    "trailing slash dropped": ({"uri": URI.rstrip("/")}),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_an_edit_that_changes_identity_never_imports_the_events_again(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, str],
) -> None:
    state, first = one_completed(clean_sandbox, capsys, tmp_path)
    paths = entry_manifest(tmp_path / "m", {**JAN_05, **edit})
    document = plan_document(clean_sandbox, capsys, paths, state)
    name = edit.get("name", "jan-05")
    action = next(a for a in document["actions"] if a["name"] == name)
    assert action["action"] == "attention"
    [finding] = action["findings"]
    assert (finding["code"], finding["severity"]) == ("overlaps-existing-import", "error")
    assert first in finding["message"] and "480 events completed" in finding["message"]
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", state=state)
    assert code == 3, out
    assert len(imports_in(clean_sandbox)) == 1, "nothing may start over events the store holds"


def test_lost_state_plus_a_one_minute_nudge_is_stopped(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, first = one_completed(clean_sandbox, capsys, tmp_path)
    state.unlink()
    nudged = {**JAN_05, "start": "2026-01-05T00:01:00Z"}
    paths = entry_manifest(tmp_path / "m", nudged)
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", state=state)
    assert code == 3 and "overlaps-existing-import" in out and first in out, out
    assert len(imports_in(clean_sandbox)) == 1


def test_the_suggested_remainder_imports_only_what_is_new(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Renamed and extended by a day: the fix prints the new day as an entry; pasted in
    place of the edited entry, it imports that day and nothing twice."""
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    extended = {"name": "jan-05-06", "start": JAN_05["start"], "end": "2026-01-06T23:59:59Z"}
    paths = entry_manifest(tmp_path / "m", extended)
    action = plan_document(clean_sandbox, capsys, paths, state)["actions"][0]
    fix = action["findings"][0]["fix"]
    suggested = fix.split("\n", 1)[1]
    assert "start_event_time: 2026-01-06T00:00:00Z" in suggested
    folder = tmp_path / "m"
    (folder / "imports.yaml").write_text("version: 1\nimports:\n" + suggested + "\n")
    code, out, _ = run(clean_sandbox, capsys, "apply", str(folder), *FAST_APPLY, "--wait",
                       state=state)  # fmt: skip
    assert code == 0, out
    assert len(imports_in(clean_sandbox)) == 2
    stats = clean_sandbox.stats()[seed.MANAGEMENT_STORE_ARN]
    assert stats["event_ids_ingested_more_than_once"] == 0


def test_allow_overlap_is_the_only_way_through_and_stays_visible(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    again = {
        **JAN_05,
        "name": "jan-05-again",
        "end": "2026-01-05T23:59:58Z",  # not the same identity: that would be a rename
        "extra": {"allow_overlap": "true"},
    }
    paths = entry_manifest(tmp_path / "m", again)
    action = plan_document(clean_sandbox, capsys, paths, state)["actions"][0]
    assert action["action"] == "create"
    assert [(f["code"], f["severity"]) for f in action["findings"]] == [
        ("overlap-allowed", "warning")
    ]
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", state=state)
    assert code == 0, out
    assert len(imports_in(clean_sandbox)) == 2
    stats = clean_sandbox.stats()[seed.MANAGEMENT_STORE_ARN]
    assert stats["event_ids_ingested_more_than_once"] > 0  # what allow_overlap means


def test_replace_of_a_completed_import_needs_allow_overlap_as_well(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    changed = {**JAN_05, "end": "2026-01-06T23:59:59Z"}
    paths = entry_manifest(tmp_path / "m", changed)
    code, out, _ = run(clean_sandbox, capsys, "plan", paths, state=state)
    folded = " ".join(out.split())
    assert "allow_overlap: true on the entry as well as --replace jan-05" in folded
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--replace", "jan-05",
                       state=state)  # fmt: skip
    assert code == 3, out  # --replace alone is not enough: 480 events would be stored twice
    assert len(imports_in(clean_sandbox)) == 1
    changed["extra"] = {"allow_overlap": "true"}
    paths = entry_manifest(tmp_path / "m", changed)
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--replace", "jan-05",
                       "--wait", state=state)  # fmt: skip
    assert code == 0, out
    assert len(imports_in(clean_sandbox)) == 2


def test_state_records_finished_foreign_imports_and_plan_reads_them(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Apply caches finished imports no entry manages; a later look needs no GetImport."""
    foreign = clean_sandbox.bulk_imports(
        30,
        seed.MANAGEMENT_STORE_ARN,
        start_event_time="2020-01-01T00:00:00Z",
        end_event_time="2020-01-31T23:59:59Z",
    )
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    cached = LocalStateStore(state).read().foreign
    assert set(foreign) <= set(cached)
    assert all(cached[id_].source_uri == URI for id_ in foreign)
    # Plan only reads the cache: a plan with an entry to create uses it and writes nothing.
    before = state.read_bytes()
    more = entry_manifest(
        tmp_path / "m", JAN_05, {"name": "jan-06", "start": "2026-01-06T00:00:00Z",
                                 "end": "2026-01-06T23:59:59Z"},
    )  # fmt: skip
    document = plan_document(clean_sandbox, capsys, more, state)
    assert {a["name"]: a["action"] for a in document["actions"]}["jan-06"] == "create"
    assert state.read_bytes() == before


def _lost_start_with_echo(
    sandbox: SandboxClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> tuple[Path, str, str]:
    """A StartImport whose answer is lost, while AWS echoes fields differently from how they
    were sent: the import exists, but nothing matches it by identity."""
    sandbox.config(echo="normalised", lose_start_responses=1.0, fault_seed=1)
    state = tmp_path / "state.json"
    paths = entry_manifest(tmp_path / "m", JAN_05)
    _, out, _ = run(sandbox, capsys, "apply", paths, *FAST_APPLY, state=state)
    assert "outcome unknown" in out, out
    sandbox.config(lose_start_responses=0.0)
    [made] = imports_in(sandbox)
    assert made["ImportSource"]["S3"]["S3LocationUri"] == URI.rstrip("/")  # echoed otherwise
    return state, paths, str(made["ImportId"])


def test_a_lost_answer_with_other_echoes_is_never_turned_into_a_create(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, paths, made = _lost_start_with_echo(clean_sandbox, capsys, tmp_path)
    # Long past the grace window (0 s here): still no create, because a candidate appeared.
    code, out, _ = run(clean_sandbox, capsys, "plan", paths, "--pending-grace", "0", state=state)
    folded = " ".join(out.split())
    assert "need" in folded and made in folded
    hint = f"reconcile state resolve jan-05 --adopt {made}"
    assert hint in folded
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--pending-grace", "0",
                       state=state)  # fmt: skip
    assert code == 3 and len(imports_in(clean_sandbox)) == 1
    # Follow the hint: the import is recorded as ours, and the next apply just follows it.
    code, out, err = run(clean_sandbox, capsys, *hint.split()[1:], state=state)
    assert code == 0, err
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", state=state)
    assert code == 0, out
    record = LocalStateStore(state).read().imports["jan-05"]
    assert (record.import_id, record.status, record.intent) == (made, "COMPLETED", None)
    assert len(imports_in(clean_sandbox)) == 1


def test_not_ours_leaves_the_overlap_rule_in_charge(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, paths, made = _lost_start_with_echo(clean_sandbox, capsys, tmp_path)
    code, _, err = run(clean_sandbox, capsys, "state", "resolve", "jan-05", "--not-ours", made,
                       state=state)  # fmt: skip
    assert code == 0, err
    assert LocalStateStore(state).read().imports["jan-05"].not_ours == (made,)
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--pending-grace", "0",
                       "--wait", state=state)  # fmt: skip
    assert code == 3 and "overlaps-existing-import" in out, out
    assert len(imports_in(clean_sandbox)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adopt", "nope"], "is not an ImportId"),
        ([], "give either --adopt"),
        (["--adopt", "0" * 8 + "-0000-4000-8000-" + "0" * 12, "--not-ours", "x"], "not an"),
    ],
)
def test_state_resolve_refuses_what_it_cannot_do(
    clean_sandbox: SandboxClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    code, _, err = run(clean_sandbox, capsys, "state", "resolve", "jan-05", *args, state=state)
    assert code == 1 and message in err and "Traceback" not in err
    code, _, err = run(clean_sandbox, capsys, "state", "resolve", "jan-05", "--not-ours",
                       "0" * 8 + "-0000-4000-8000-" + "0" * 12, state=state)  # fmt: skip
    assert code == 1 and "no unanswered StartImport" in err


def test_a_store_not_usable_yet_is_tried_later_without_spending_attempts(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_sandbox.config(store_ready_seconds=3600.0)
    created = clean_sandbox.client("cloudtrail").create_event_data_store(Name="brand-new")
    arn = created["EventDataStoreArn"]
    folder = tmp_path / "m"
    paths = entry_manifest(folder, JAN_05)
    text = (folder / "imports.yaml").read_text().replace(seed.MANAGEMENT_STORE_ARN, arn)
    (folder / "imports.yaml").write_text(text)
    state = tmp_path / "state.json"
    # Preflight sees the store CREATED and asks for attention; nothing starts.
    [action] = plan_document(clean_sandbox, capsys, paths, state)["actions"]
    assert action["action"] == "attention"
    assert [f["code"] for f in action["findings"]] == ["store-not-usable"]
    # Without preflight (or if the store changes after the plan), AWS refuses the start.
    no_preflight = "--no-preflight"
    code, out, _ = run(
        clean_sandbox, capsys, "apply", paths, "--auto-approve", no_preflight, state=state
    )
    assert code == 0 and "InvalidEventDataStoreStatusException" in out, out
    record = LocalStateStore(state).read().imports["jan-05"]
    assert record.starts == 0 and record.next_retry_at is not None
    document = plan_document(clean_sandbox, capsys, paths, state, no_preflight)
    [action] = document["actions"]
    assert action["action"] == "queued" and "no attempt used" in action["reason"]
    # The store becomes usable; --retry skips the rest of the wait, and the import starts.
    clean_sandbox.hook("store-status", {"arn": arn, "status": "ENABLED"})
    code, out, _ = run(clean_sandbox, capsys, "apply", paths, *FAST_APPLY, "--wait", "--retry",
                       "jan-05", state=state)  # fmt: skip
    assert code == 0, out
    record = LocalStateStore(state).read().imports["jan-05"]
    assert record.status == "COMPLETED" and record.starts == 1


def test_apply_starts_only_what_its_plan_showed_starting(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved plan shows jan-06 adopted (an import made by hand, FAILED by a passing error)
    and jan-05 to create. Applying it with --wait creates jan-05 but does not retry jan-06:
    the reviewer did not see that start. The next plan shows it."""
    from tests.e2e.test_apply_e2e import BAD_KEY_6
    from tests.e2e.test_neighbours import start_by_hand
    from tests.sandbox.helpers import trail_file, wait_finished

    good = trail_file([{"eventID": "flaky-6", "eventTime": "2026-01-06T00:09:00Z"}])
    clean_sandbox.client("s3").put_object(Bucket=seed.BUCKET, Key=BAD_KEY_6, Body=good)
    clean_sandbox.config(flaky_keys=[BAD_KEY_6])
    jan_06 = {"name": "jan-06", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T23:59:59Z"}
    by_hand = start_by_hand(clean_sandbox, jan_06["start"], jan_06["end"])
    client = clean_sandbox.client("cloudtrail")
    assert wait_finished(client, by_hand)["ImportStatus"] == "FAILED"
    state, saved = tmp_path / "state.json", tmp_path / "pr.plan"
    paths = entry_manifest(tmp_path / "m", JAN_05, jan_06)
    code, _, err = run(clean_sandbox, capsys, "plan", paths, "--out", str(saved),
                       "--retry-backoff", "0", state=state)  # fmt: skip
    assert code == 0, err
    shown = {a["name"]: a["action"] for a in json.loads(saved.read_text())["actions"]}
    assert shown == {"jan-05": "create", "jan-06": "adopt"}
    code, out, _ = run(clean_sandbox, capsys, "apply", "--plan", str(saved), *FAST_APPLY,
                       "--wait", state=state)  # fmt: skip
    assert code == 0, out
    assert client.get_import(ImportId=by_hand)["ImportStatus"] == "FAILED"  # not retried
    records = LocalStateStore(state).read().imports
    assert records["jan-06"].import_id == by_hand and records["jan-06"].attempts == ()
    assert records["jan-05"].status == "COMPLETED"
    action = next(
        a for a in plan_document(clean_sandbox, capsys, paths, state)["actions"]
        if a["name"] == "jan-06"
    )  # fmt: skip
    assert action["action"] in ("retry", "queued")  # shown now; the next apply may start it


def test_a_plan_file_edited_to_allow_an_overlap_starts_nothing(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The overlap shown as attention is edited into a plain create with allow_overlap set in
    its spec (every field consistent): apply's own look finds an overlap the approved plan
    did not show, and starts nothing."""
    state, _ = one_completed(clean_sandbox, capsys, tmp_path)
    state.unlink()  # lost state: the new entry is a create over what the store holds
    saved = tmp_path / "p.plan"
    paths = entry_manifest(tmp_path / "m", {**JAN_05, "end": "2026-01-06T23:59:59Z"})
    assert run(clean_sandbox, capsys, "plan", paths, "--out", str(saved), state=state)[0] == 0
    document = json.loads(saved.read_text())
    document["specs"][0]["allow_overlap"] = True
    action = document["actions"][0]
    assert action["action"] == "attention"
    action.update(action="create", findings=[], reason="not in state")
    document["summary"] = {**document["summary"], "attention": 0, "create": 1}
    saved.write_text(json.dumps(document, indent=2))
    code, out, err = run(clean_sandbox, capsys, "apply", "--plan", str(saved), *FAST_APPLY,
                         state=state)  # fmt: skip
    assert len(imports_in(clean_sandbox)) == 1, (code, out, err)
    assert code != 0 and "findings the approved plan did not show" in out + err


def test_other_echoes_do_not_raise_false_overlaps(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS echoing the store ID and another slash: the import that holds January 5 is still
    read and compared, so January 6 alone is a plain create."""
    from tests.e2e.test_neighbours import start_by_hand
    from tests.sandbox.helpers import wait_finished

    clean_sandbox.config(echo="normalised")
    by_hand = start_by_hand(clean_sandbox, JAN_05["start"], JAN_05["end"])
    wait_finished(clean_sandbox.client("cloudtrail"), by_hand)
    jan_06 = {"name": "jan-06", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T23:59:59Z"}
    state = tmp_path / "state.json"
    paths = entry_manifest(tmp_path / "m", jan_06)
    [action] = plan_document(clean_sandbox, capsys, paths, state)["actions"]
    assert (action["action"], action["findings"]) == ("create", [])
    # ...and January 5 again is stopped, although nothing matches its echo exactly.
    paths = entry_manifest(tmp_path / "m", JAN_05)
    [action] = plan_document(clean_sandbox, capsys, paths, state)["actions"]
    assert action["action"] == "attention" and by_hand in action["findings"][0]["message"]


def test_the_advice_after_fixing_a_failed_imports_role_leads_to_the_new_role(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong role fails every file; the fix is a new role, which only a new import carries.
    Following each printed hint reaches a COMPLETED import with the new role."""
    iam = clean_sandbox.client("iam")
    untrusting = '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'  # noqa: E501
    iam.create_role(RoleName="wrong-role", AssumeRolePolicyDocument=untrusting)
    wrong = seed.ROLE_ARN.rsplit("/", 1)[0] + "/wrong-role"
    folder = tmp_path / "m"
    state = tmp_path / "state.json"
    paths = entry_manifest(folder, JAN_05)
    text = (folder / "imports.yaml").read_text()
    (folder / "imports.yaml").write_text(text.replace(seed.ROLE_ARN, wrong))
    code, out, _ = run(
        clean_sandbox, capsys, "apply", paths, "--auto-approve", "--no-preflight", *FAST_APPLY,
        "--wait", "--retry-backoff", "3600", state=state,
    )  # fmt: skip
    assert LocalStateStore(state).read().imports["jan-05"].status == "FAILED", out
    (folder / "imports.yaml").write_text(text)  # the right role
    [action] = plan_document(clean_sandbox, capsys, paths, state)["actions"]
    assert action["action"] == "attention" and "--replace jan-05" in action["reason"]
    # The hint names what a new import needs: --replace (and allow_overlap when the failed
    # import stored events). Follow it.
    hint_needs_overlap = "allow_overlap: true" in action["reason"]
    if hint_needs_overlap:
        (folder / "imports.yaml").write_text(text + "    allow_overlap: true\n")
    code, out, err = run(
        clean_sandbox, capsys, "apply", paths, "--auto-approve", "--replace", "jan-05",
        *FAST_APPLY, "--wait", state=state,
    )  # fmt: skip
    assert code == 0, out + err
    record = LocalStateStore(state).read().imports["jan-05"]
    assert record.status == "COMPLETED" and record.role_arn == seed.ROLE_ARN
    imported = clean_sandbox.client("cloudtrail").get_import(ImportId=record.import_id)
    assert imported["ImportSource"]["S3"]["S3BucketAccessRoleArn"] == seed.ROLE_ARN
