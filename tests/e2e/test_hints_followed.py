"""Every hint the tool prints, followed as a person would, leads to a different state.

Each case provokes a message against the sandbox, takes the hint out of the printed text (a
`reconcile ...` command, a flag to add or drop, a manifest key to set, an AWS CLI call), does
what it says, and checks that AWS or the state changed the way the hint promised. The hint is
never typed into the test: if its wording stops working, the case fails.

AWS CLI hints are followed through their boto3 twins (the project does not need the CLI).
Not followed here: `aws cloudtrail get-import` (a read, which changes nothing), and the
`--retry` hint of a store that stayed unusable for days (the same command as the one a
retry-proof failure prints, which is followed below).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import seed
from reconciler.state.local import LocalStateStore
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient
from tests.e2e.test_apply_e2e import BAD_KEY_6, FAST_APPLY, day_manifest, imports_in
from tests.e2e.test_preflight_e2e import DAY
from tests.e2e.test_preflight_e2e import World as PreflightWorld
from tests.sandbox.helpers import trail_file

# A word of a printed command: subcommands, options, names, IDs, paths and PLACEHOLDERS.
COMMAND_WORD = re.compile(r"[A-Za-z0-9/_:=@.-]+")


def words_of(text: str) -> list[tuple[str, bool]]:
    """The printed words, each with whether it breaks the flow of a sentence: a word after
    a new line indented differently, or beside a gap of two or more spaces (a table column,
    a field's label). A wrapped sentence continues at the same indentation."""
    words: list[tuple[str, bool]] = []
    indent = None
    for line in text.splitlines():
        if not line.strip():
            indent = None
            continue
        this = len(line) - len(line.lstrip(" "))
        for number, found in enumerate(re.finditer(r"(\s*)(\S+)( {2,})?", line)):
            gap, word, label = found.groups()
            broken = this != indent if number == 0 else len(gap) > 1
            words.append((word, broken or label is not None))
        indent = this
    return words


def printed_commands(text: str) -> list[list[str]]:
    """Every `reconcile ...` command in the text, as argv (without `reconcile`). A command
    ends at a backtick, at a `.`, `;`, `,` or `)` that ends a word, at a layout break, or
    before a word no command has."""
    found: list[list[str]] = []
    words = words_of(text)
    for index, (word, _) in enumerate(words):
        if word.lstrip("`(") != "reconcile" or word.endswith("`"):
            continue
        argv: list[str] = []
        for following, broken in words[index + 1 :]:
            core = following.rstrip("`.;,)")
            ends = core != following
            if broken or not COMMAND_WORD.fullmatch(core) or core.endswith(":"):
                break
            argv.append(core)
            if ends:
                break
        if argv:
            found.append(argv)
    return found


def the_command(text: str, *first_words: str) -> list[str]:
    """The one printed command that starts with `first_words`."""
    matches = [c for c in printed_commands(text) if c[: len(first_words)] == list(first_words)]
    assert len(matches) == 1, f"expected one `reconcile {' '.join(first_words)}` in: {text}"
    return matches[0]


def hinted(pattern: str, text: str) -> re.Match[str]:
    """The hint the pattern finds in the text with its whitespace folded (lines wrap)."""
    found = re.search(pattern, " ".join(text.split()))
    assert found, f"no hint matching {pattern!r} in: {text}"
    return found


@dataclass
class Session:
    """One person's terminal: a sandbox, a manifest folder, a state, and what they ran."""

    sandbox: SandboxClient
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]
    state: str = ""
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state = self.state or str(self.tmp_path / "state.json")
        self.folder = self.tmp_path / "m"

    def run(self, argv: list[str], wait: bool = True) -> tuple[int, str, str]:
        """`reconcile ARGV` with this session's state and sandbox; an apply gets fast clocks
        (and --wait unless told otherwise), none of which a hint is about."""
        common = ["--state", self.state, "--endpoint-url", self.sandbox.endpoint_url, "--no-color"]
        if argv[:1] == ["apply"]:
            common += [*FAST_APPLY[1:], *(["--wait"] if wait else [])]
        return invoke([*argv, *common], self.capsys)

    @property
    def paths(self) -> str:
        return str(self.folder)

    def records(self) -> dict[str, Any]:
        return dict(LocalStateStore(Path(self.state)).read().imports)

    def manifest(self) -> Path:
        return self.folder / "imports.yaml"


@pytest.fixture
def person(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Session:
    return Session(clean_sandbox, tmp_path, capsys)


def add_to_entry(manifest: Path, line: str) -> None:
    """Append a key to the last entry of a manifest (what "set X on the entry" asks)."""
    manifest.write_text(manifest.read_text() + f"    {line}\n")


# -- the plan's hints -----------------------------------------------------------------------


def test_retry_command_after_a_fix_retries_the_same_import(person: Session) -> None:
    s3 = person.sandbox.client("s3")
    s3.put_object(Bucket=seed.BUCKET, Key=BAD_KEY_6, Body=b"plain text, not gzip")
    day_manifest(person.folder, {"jan-06": ("east", 6)}, max_attempts=3)
    code, out, _ = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 3, out
    [failed] = imports_in(person.sandbox)
    code, out, _ = person.run(["plan", person.paths])
    retry = the_command(out, "apply")
    assert "--retry" in retry
    s3.put_object(
        Bucket=seed.BUCKET,
        Key=BAD_KEY_6,
        Body=trail_file([{"eventID": "fix-6", "eventTime": "2026-01-06T00:09:00Z"}]),
    )
    code, out, err = person.run([*retry, "--auto-approve"])  # as printed, and "yes"
    assert code == 0, out + err
    [retried] = imports_in(person.sandbox)
    assert retried["ImportId"] == failed["ImportId"] and retried["ImportStatus"] == "COMPLETED"
    assert [a.kind for a in person.records()["jan-06"].attempts] == ["create", "retry"]


def test_replace_after_fixing_a_failed_imports_role_starts_one_with_the_new_role(
    person: Session,
) -> None:
    iam = person.sandbox.client("iam")
    untrusting = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Principal": {"Service": "ec2.amazonaws.com"}}]}  # fmt: skip
    iam.create_role(RoleName="wrong-role", AssumeRolePolicyDocument=json.dumps(untrusting))
    wrong = seed.ROLE_ARN.rsplit("/", 1)[0] + "/wrong-role"
    day_manifest(person.folder, {"jan-05": ("east", 5)}, max_attempts=1)
    good = person.manifest().read_text()
    person.manifest().write_text(good.replace(seed.ROLE_ARN, wrong))
    person.run(["apply", person.paths, "--auto-approve", "--no-preflight"])
    assert person.records()["jan-05"].status == "FAILED"
    person.manifest().write_text(good)  # the right role
    _, out, _ = person.run(["plan", person.paths])
    flag = hinted(r"confirm a new import with (--replace [\w-]+)", out).group(1)
    code, out, err = person.run(["apply", person.paths, "--auto-approve", *flag.split()])
    assert code == 0, out + err
    record = person.records()["jan-05"]
    assert (record.status, record.role_arn) == ("COMPLETED", seed.ROLE_ARN)
    assert len(imports_in(person.sandbox)) == 2


def test_identity_change_then_allow_overlap_and_replace_as_the_plan_says(
    person: Session,
) -> None:
    day_manifest(person.folder, {"jan": ("east", 5)})
    assert person.run(["apply", person.paths, "--auto-approve"])[0] == 0
    text = person.manifest().read_text()
    person.manifest().write_text(text.replace("2026-01-05T23:59:59Z", "2026-01-06T23:59:59Z"))
    _, out, _ = person.run(["plan", person.paths])
    # A COMPLETED import overlaps its replacement: both keys are named, and both are needed.
    found = hinted(r"needs (allow_overlap: true) on the entry as well as (--replace [\w-]+)", out)
    code, out, _ = person.run(["apply", person.paths, "--auto-approve", *found.group(2).split()])
    assert code == 3 and len(imports_in(person.sandbox)) == 1, out
    add_to_entry(person.manifest(), found.group(1))
    code, out, err = person.run(["apply", person.paths, "--auto-approve", *found.group(2).split()])
    assert code == 0, out + err
    assert "stored (and billed) twice" in err  # what --replace confirmed, said once more
    assert sorted(i["EndEventTime"].day for i in imports_in(person.sandbox)) == [5, 6]


def test_a_vanished_import_is_started_again_with_replace(person: Session) -> None:
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    assert person.run(["apply", person.paths, "--auto-approve"])[0] == 0
    person.sandbox.reset(seed=True)  # the import is gone from AWS (as after a store rebuild)
    _, out, _ = person.run(["plan", person.paths])
    # Its events may still be in the store, so the hint asks for both keys.
    found = hinted(r"no longer exists in AWS.*?needs (allow_overlap: true) on the entry as "
                   r"well as (--replace [\w-]+)", out)  # fmt: skip
    add_to_entry(person.manifest(), found.group(1))
    code, out, err = person.run(["apply", person.paths, "--auto-approve", *found.group(2).split()])
    assert code == 0, out + err
    [again] = imports_in(person.sandbox)
    assert person.records()["jan-05"].import_id == again["ImportId"]


def test_allow_overlap_on_the_entry_the_plan_names_starts_it(person: Session) -> None:
    day_manifest(person.folder, {"first": ("east", 5)})
    assert person.run(["apply", person.paths, "--auto-approve"])[0] == 0
    text = person.manifest().read_text()
    second = text.split("  - name: first\n", 1)[1].replace("23:59:59Z", "23:59:58Z")
    person.manifest().write_text(text + "  - name: second\n" + second)
    code, _, err = person.run(["plan", person.paths])  # an error of the manifests
    assert code == 1
    found = hinted(r"set (allow_overlap: true) on '([\w-]+)'", err)
    assert found.group(2) == "second"  # the entry that has not started, never the COMPLETED one
    add_to_entry(person.manifest(), found.group(1))
    code, out, err = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 2 and "overlap-allowed" in out


def test_a_lost_answer_is_resolved_with_the_printed_adopt_command(person: Session) -> None:
    person.sandbox.config(echo="normalised", lose_start_responses=1.0, fault_seed=1)
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    person.run(["apply", person.paths, "--auto-approve", "--pending-grace", "0"])
    person.sandbox.config(lose_start_responses=0.0)
    [made] = imports_in(person.sandbox)
    _, out, _ = person.run(["plan", person.paths, "--pending-grace", "0"])
    adopt = the_command(out, "state", "resolve", "jan-05", "--adopt")
    the_command(out, "state", "resolve", "jan-05", "--not-ours")  # the other way is printed too
    code, _, err = person.run(adopt)
    assert code == 0, err
    record = person.records()["jan-05"]
    assert (record.import_id, record.intent) == (made["ImportId"], None)


def test_a_removed_running_entry_is_stopped_with_stop_removed(person: Session) -> None:
    person.sandbox.config(speed=0.5, init_seconds=30.0)  # keeps running through the test
    day_manifest(person.folder, {"jan-05": ("east", 5), "jan-06": ("west", 6)})
    assert person.run(["apply", person.paths, "--auto-approve"], wait=False)[0] == 0
    day_manifest(person.folder, {"jan-06": ("west", 6)})
    _, out, _ = person.run(["plan", person.paths])
    flag = hinted(r"(--stop-removed) would stop it", out).group(1)
    code, out, err = person.run(["apply", person.paths, "--auto-approve", flag], wait=False)
    assert code == 0, out + err
    east = [
        i for i in imports_in(person.sandbox) if i["Destinations"] == [seed.MANAGEMENT_STORE_ARN]
    ]
    assert [i["ImportStatus"] for i in east] == ["STOPPED"]
    assert "jan-05" not in person.records()


# -- preflight's hints ----------------------------------------------------------------------


def _preflight(person: Session) -> tuple[PreflightWorld, str]:
    world = PreflightWorld(person.sandbox, person.tmp_path)
    return world, world.healthy(RetentionPeriod=30)


def test_preflight_ignore_lets_the_named_code_through(person: Session) -> None:
    world, destination = _preflight(person)
    manifests = world.manifest(destination)
    _, out, _ = person.run(["plan", manifests])
    hinted(r"list the code under (preflight\.ignore) on the entry", out)
    code = hinted(r"\b(retention-drops-events)\b", out).group(1)
    world.manifest(destination, preflight={"ignore": [code]})
    code_, out, err = person.run(["apply", manifests, "--auto-approve"])
    assert code_ == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


def test_raise_max_cost_and_run_without_it(person: Session) -> None:
    world = PreflightWorld(person.sandbox, person.tmp_path)
    manifests = world.manifest(world.healthy())
    budget = ["--price-per-gb", "1000", "--max-cost", "0.001"]
    _, out, _ = person.run(["plan", manifests, *budget])
    assert hinted(r"(Raise --max-cost)", out)
    code, out, _ = person.run(["plan", manifests, "--detailed-exitcode", *budget[:2],
                               "--max-cost", "1"])  # fmt: skip
    assert code == 2 and re.search(r"\+ create +preflighted", out)  # raised: it would start
    # Without the listing permission the cost cannot be known: "run without --max-cost".
    person.sandbox.config(denied_actions=["s3:ListBucket"])
    _, out, _ = person.run(["plan", manifests, *budget])
    assert hinted(r"(run without --max-cost)", out)
    code, out, err = person.run(["apply", manifests, "--auto-approve", *budget[:2]])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


def test_the_ownership_controls_command_clears_the_acl_finding(person: Session) -> None:
    world = PreflightWorld(person.sandbox, person.tmp_path)
    world.role()
    world.bucket(enforced=False)
    world.logs(DAY, 2)
    manifests = world.manifest(world.store(StartIngestion=False))
    _, out, _ = person.run(["plan", manifests])
    aws_cli = (
        r"aws s3api put-bucket-ownership-controls --bucket (\S+) "
        r"--ownership-controls 'Rules=\[\{ObjectOwnership=(\w+)\}\]'"
    )
    command = hinted(aws_cli, out)
    # The AWS CLI's shorthand, through its boto3 twin.
    person.sandbox.client("s3").put_bucket_ownership_controls(
        Bucket=command.group(1),
        OwnershipControls={"Rules": [{"ObjectOwnership": command.group(2)}]},
    )
    code, out, err = person.run(["apply", manifests, "--auto-approve"])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


# -- the errors' hints ----------------------------------------------------------------------


def test_no_terminal_then_auto_approve_starts_it(
    person: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    code, _, err = person.run(["apply", person.paths])
    assert code == 1
    flag = hinted(r"run again with (--auto-approve)", err).group(1)
    code, out, err = person.run(["apply", person.paths, flag])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


def test_a_saved_plan_hint_applies_it_and_a_stale_one_says_how_to_remake_it(
    person: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)  # the hint is for a person at a terminal
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    saved = str(person.tmp_path / "pr.plan")
    _, out, _ = person.run(["plan", person.paths, "--out", saved])
    apply_saved = the_command(out, "apply", "--plan")
    # Someone else's apply makes the plan stale; the refusal says how to make a new one.
    other = Session(person.sandbox, person.tmp_path, person.capsys, person.state)
    other.folder = person.folder
    assert other.run(["apply", person.paths, "--auto-approve"])[0] == 0
    code, _, err = person.run([*apply_saved, "--auto-approve"])  # no terminal to say yes on
    assert code == 1 and len(imports_in(person.sandbox)) == 1, err
    again = the_command(err, "plan", "--out")
    again = [saved if word == "FILE" else word for word in again]
    day_manifest(person.folder, {"jan-05": ("east", 5), "jan-06": ("east", 6)})
    code, out, err = person.run([*again[:1], person.paths, *again[1:]])
    assert code == 0, err
    code, out, err = person.run([*apply_saved, "--auto-approve"])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 2


HOLD_S3_LOCK = """
import sys, time
from reconciler.aws.session import ClientFactory
from reconciler.aws.statestore_s3 import S3StateStore
factory = ClientFactory(region="us-east-1", endpoint_url=sys.argv[1])
with S3StateStore("hint-state", "prod/state.json", factory).lock("reconcile apply"):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_stale_s3_lock_is_removed_with_the_printed_force_unlock(person: Session) -> None:
    s3 = person.sandbox.client("s3")
    s3.create_bucket(Bucket="hint-state")
    person.state = "s3://hint-state/prod/state.json"
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    # A run that holds the lock is killed: its lock object stays behind in S3.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_S3_LOCK, person.sandbox.endpoint_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stderr is not None
    assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
    holder.kill()
    holder.wait(timeout=60)
    code, _, err = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 1 and imports_in(person.sandbox) == [], err
    unlock = the_command(err, "state", "force-unlock")
    code, _, err = person.run(unlock)
    assert code == 0, err
    code, out, err = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


def test_an_unreadable_s3_lock_object_is_removed_with_the_printed_aws_command(
    person: Session,
) -> None:
    s3 = person.sandbox.client("s3")
    s3.create_bucket(Bucket="hint-state")
    person.state = "s3://hint-state/prod/state.json"
    s3.put_object(Bucket="hint-state", Key="prod/state.json.lock", Body=b"not a lock record")
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    code, _, err = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 1 and imports_in(person.sandbox) == [], err
    lock = hinted(r"`aws s3 rm s3://([^/\s]+)/([^`\s]+)`", err)
    s3.delete_object(Bucket=lock.group(1), Key=lock.group(2))  # the AWS CLI call's boto3 twin
    code, out, err = person.run(["apply", person.paths, "--auto-approve"])
    assert code == 0, out + err
    assert len(imports_in(person.sandbox)) == 1


HOLD_LOCAL_LOCK = """
import sys
from pathlib import Path
from reconciler.state.local import LocalStateStore
with LocalStateStore(Path(sys.argv[1])).lock("reconcile apply"):
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes it
"""


def test_lock_timeout_waits_for_a_running_holder(person: Session) -> None:
    """The wait is bounded by the flag, not by luck: the holder lets go only once the test
    says so, after the first refusal, and the second run may wait up to ten minutes."""
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCAL_LOCK, person.state],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = person.run(["apply", person.paths, "--auto-approve"])
        assert code == 1 and imports_in(person.sandbox) == [], err
        flag = hinted(r"retry with (--lock-timeout) SECONDS", err).group(1)
        threading.Timer(0.5, holder.stdin.close).start()  # the holder finishes, some time later
        code, out, err = person.run(["apply", person.paths, "--auto-approve", flag, "600"])
        assert code == 0, out + err
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert len(imports_in(person.sandbox)) == 1


def test_state_mv_onto_a_taken_name_then_state_rm(person: Session) -> None:
    day_manifest(person.folder, {"jan-05": ("east", 5), "jan-06": ("east", 6)})
    assert person.run(["apply", person.paths, "--auto-approve"])[0] == 0
    code, _, err = person.run(["state", "mv", "jan-05", "jan-06"])
    assert code == 1
    remove = the_command(err, "state", "rm")
    assert person.run(remove)[0] == 0
    code, _, err = person.run(["state", "mv", "jan-05", "jan-06"])
    assert code == 0, err
    assert set(person.records()) == {"jan-06"}


def test_adopt_force_then_plan_next(person: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = person.sandbox.client("cloudtrail")
    elsewhere = Session(person.sandbox, person.tmp_path, person.capsys, str(person.tmp_path / "o"))
    day_manifest(elsewhere.folder, {"by-hand": ("east", 5)})
    assert elsewhere.run(["apply", elsewhere.paths, "--auto-approve"])[0] == 0
    assert len(lake.list_imports()["Imports"]) == 1
    monkeypatch.chdir(person.tmp_path)
    os.makedirs("manifests")
    Path("manifests/adopted.yaml").write_text("# an older adoption\n")
    adopt = ["adopt", "--out", "manifests/adopted.yaml"]
    code, _, err = person.run(adopt)
    assert code == 1
    flag = hinted(r"add (--force) to overwrite", err).group(1)
    code, _, err = person.run([*adopt, flag])
    assert code == 0, err
    plan = the_command(err, "plan")
    code, out, err = person.run([*plan, "--json"])
    assert code == 0, err
    assert {a["action"] for a in json.loads(out)["actions"]} == {"adopt"}


def test_validate_price_then_add_online(person: Session) -> None:
    day_manifest(person.folder, {"jan-05": ("east", 5)})
    code, _, err = person.run(["validate", person.paths, "--price-per-gb", "0.5"])
    assert code == 1
    flag = hinted(r"add (--online)", err).group(1)
    code, out, err = person.run(["validate", person.paths, "--price-per-gb", "0.5", flag])
    assert code == 0, err
    assert "$" in out  # priced with the flag's price
