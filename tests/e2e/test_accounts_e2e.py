"""Several accounts in one run: each import planned and applied with its own account's role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.plan.desired import Shard
from reconciler.sandbox.worlds import AccountWorld, account_world
from tests.cli_helpers import invoke
from tests.conftest import SandboxClient

MEMBERS = ("111111111111", "222222222222", "333333333333")
NO_ROLE = "444444444444"  # its access role was never created: AssumeRole is refused


def manifest(folder: Path, worlds: list[AccountWorld]) -> str:
    lines = ["version: 1", "accounts:"]
    for world in worlds:
        lines.append(f'  "{world.account}": {{role_arn: "{world.access_role_arn}"}}')
    lines.append("imports:")
    for world in worlds:
        lines += [
            f"  - name: trail-{world.account}",
            f"    destination: {world.store_arn}",
            f"    source: {{uri: '{world.source_uri}', bucket_region: us-east-1, "
            f"role_arn: '{world.import_role_arn}'}}",
            "    start_event_time: 2026-01-05T00:00:00Z",
            "    end_event_time: 2026-01-05T23:59:59Z",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts.yaml").write_text("\n".join(lines) + "\n")
    return str(folder)


def imports_of(sandbox: SandboxClient, world: AccountWorld) -> list[dict[str, object]]:
    from reconciler.sandbox.worlds import _session_in

    client = _session_in(sandbox.endpoint_url, world.account, world.region).client(
        "cloudtrail", endpoint_url=sandbox.endpoint_url
    )
    return [client.get_import(ImportId=i["ImportId"]) for i in client.list_imports()["Imports"]]


def test_three_accounts_each_with_its_own_role_and_a_fourth_that_fails_alone(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worlds = [account_world(clean_sandbox.endpoint_url, account) for account in MEMBERS]
    broken = account_world(clean_sandbox.endpoint_url, NO_ROLE, access_role=False)
    paths = manifest(tmp_path / "m", [*worlds, broken])
    state = tmp_path / "state.json"
    common = ["--state", str(state), "--endpoint-url", clean_sandbox.endpoint_url, "--no-color"]
    code, out, err = invoke(["plan", paths, "--json", *common], capsys)
    assert code == 0, err
    actions = {a["name"]: a for a in json.loads(out)["actions"]}
    assert {name: a["action"] for name, a in actions.items()} == {
        **{f"trail-{account}": "create" for account in MEMBERS},
        f"trail-{NO_ROLE}": "attention",
    }
    assert "cannot assume" in actions[f"trail-{NO_ROLE}"]["reason"]
    code, out, _ = invoke(
        ["apply", paths, "--auto-approve", "--wait", "--poll-interval", "0.05", *common], capsys
    )
    assert code == 3, out  # the account without a role needs attention; the others are done
    for world in worlds:
        [only] = imports_of(clean_sandbox, world)
        assert only["ImportStatus"] == "COMPLETED"
        assert only["Destinations"] == [world.store_arn]
    assert imports_of(clean_sandbox, broken) == []
    # The seeded account (the run's own credentials) got nothing.
    assert clean_sandbox.client("cloudtrail").list_imports()["Imports"] == []
    # failures (always a live call) reaches the account the way the manifests' accounts: say;
    # with the run's own credentials the import is not found there.
    name = f"trail-{MEMBERS[0]}"
    code, out, err = invoke(["failures", name, "--json", "--manifests", paths, *common], capsys)
    assert code == 0, err
    assert json.loads(out)["count"] == 0
    code, _, err = invoke(["failures", name, "--manifests", "nowhere", *common], capsys)
    assert code == 1 and "Traceback" not in err


def test_shards_split_accounts_without_overlap(
    clean_sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worlds = [account_world(clean_sandbox.endpoint_url, account) for account in MEMBERS]
    paths = manifest(tmp_path / "m", worlds)
    seen: list[str] = []
    for index in (1, 2):
        code, out, _ = invoke(
            ["plan", paths, "--json", "--shard", f"{index}/2", "--state",
             str(tmp_path / f"state-{index}.json"), "--endpoint-url", clean_sandbox.endpoint_url],
            capsys,
        )  # fmt: skip
        assert code == 0
        names = [a["name"] for a in json.loads(out)["actions"]]
        assert all(Shard(index, 2).owns(name.split("-")[1]) for name in names)
        seen += names
    assert sorted(seen) == sorted(f"trail-{account}" for account in MEMBERS)


def test_bad_shard_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["plan", "--shard", "3/2"], capsys)
    assert code == 1 and "between 1 and N" in err
