"""Neighbours: imports started by hand or by another pipeline while apply looks and starts.

Apply runs in-process here (run_apply with the real AWS adapter over HTTP to the sandbox), so
a neighbour can act at an exact moment: right after apply planned, before its last look at
the store. Imports are counted through boto3.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.run import ApplyRequest, run_apply
from reconciler.apply.types import ApplyOptions, ApplyResult
from reconciler.aws.accounts import Connections
from reconciler.observed import ObservedImport
from reconciler.plan.make import PlanRequest
from reconciler.ports import ImportReader
from reconciler.sandbox import seed
from reconciler.spec import AccountAccess
from reconciler.state.local import LocalStateStore
from tests.conftest import SandboxClient
from tests.e2e.test_apply_e2e import imports_in
from tests.e2e.test_never_twice import JAN_05, URI, entry_manifest

FAST = ApplyOptions(poll_interval=0.05)


class _Quiet:
    def message(self, name: str | None, text: str, *, error: bool = False) -> None:
        self.last = (name, text)

    def progress(self, name: str, progress: Any) -> None:
        pass


def start_by_hand(sandbox: SandboxClient, start: str, end: str, uri: str = URI) -> str:
    answer = sandbox.client("cloudtrail").start_import(
        Destinations=[seed.MANAGEMENT_STORE_ARN],
        ImportSource={"S3": {"S3LocationUri": uri, "S3BucketRegion": "us-east-1",
                             "S3BucketAccessRoleArn": seed.ROLE_ARN}},
        StartEventTime=start,
        EndEventTime=end,
    )  # fmt: skip
    return str(answer["ImportId"])


class NeighbourAtTheLastLook:
    """The real connections, but the first ListImports of one store (apply's last look
    before StartImport; plan lists whole Regions) is preceded by a neighbour's start."""

    def __init__(self, inner: Connections, neighbour: Any) -> None:
        self.inner = inner
        self.neighbour = neighbour
        self.fired = False

    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None:
        self.inner.use_accounts(accounts)

    def writer(self, account: str) -> Any:
        return self.inner.writer(account)

    def preflight(self, account: str) -> Any:
        return self.inner.preflight(account)

    def reader(self, account: str) -> ImportReader:
        outer, real = self, self.inner.reader(account)

        class Reader:
            def list_imports(
                self, region: str, destination: str | None = None
            ) -> list[ObservedImport]:
                if destination is not None and not outer.fired:
                    outer.fired = True
                    outer.neighbour()
                return real.list_imports(region, destination)

            def get_import(self, region: str, import_id: str) -> ObservedImport:
                return real.get_import(region, import_id)

            def list_failures(self, region: str, import_id: str, limit: int | None = None) -> Any:
                return real.list_failures(region, import_id, limit)

        return Reader()


def apply_in_process(
    sandbox: SandboxClient,
    paths: str,
    state: Path,
    connector: Any = None,
    options: ApplyOptions = FAST,
) -> ApplyResult:
    return run_apply(
        ApplyRequest(PlanRequest(paths=(paths,))),
        LocalStateStore(state),
        connector or Connections(endpoint_url=sandbox.endpoint_url, region="us-east-1"),
        options,
        show=lambda plan: None,
        confirm=lambda plan: True,
        events=_Quiet(),
        stop=threading.Event(),
    )


NEIGHBOURS = {
    # the same identity: apply adopts it and sends no StartImport
    "same identity": (JAN_05["start"], JAN_05["end"], "adopt"),
    # another identity whose range overlaps: apply stops, a person decides
    "overlapping": ("2026-01-05T12:00:00Z", "2026-01-06T23:59:59Z", "attention"),
}


@pytest.mark.parametrize("neighbour", NEIGHBOURS.values(), ids=NEIGHBOURS.keys())
def test_an_import_started_right_before_our_start_is_never_duplicated(
    clean_sandbox: SandboxClient, tmp_path: Path, neighbour: tuple[str, str, str]
) -> None:
    start, end, verdict = neighbour
    started: list[str] = []
    connector = NeighbourAtTheLastLook(
        Connections(endpoint_url=clean_sandbox.endpoint_url, region="us-east-1"),
        lambda: started.append(start_by_hand(clean_sandbox, start, end)),
    )
    state = tmp_path / "state.json"
    paths = entry_manifest(tmp_path / "m", JAN_05)
    result = apply_in_process(clean_sandbox, paths, state, connector)
    assert connector.fired, "apply never looked again right before its start"
    assert [i["ImportId"] for i in imports_in(clean_sandbox)] == started  # only the neighbour's
    record = LocalStateStore(state).read().imports.get("jan-05")
    if verdict == "adopt":
        assert record is not None and record.import_id == started[0] and record.intent is None
        assert [a.outcome for a in record.attempts] == []  # nothing was sent
    else:
        assert result.attention == {"jan-05"}
        assert record is None or (record.intent is None and record.import_id is None)
    assert result.start_gaps == []  # no StartImport went out


def test_the_last_look_is_one_listing_away_from_the_start(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """With many finished foreign imports in the store, the last look lists them and
    describes none (the first look did, and state caches them); it then starts."""
    clean_sandbox.bulk_imports(
        200,
        seed.MANAGEMENT_STORE_ARN,
        start_event_time="2020-01-01T00:00:00Z",
        end_event_time="2020-01-31T23:59:59Z",
    )
    connections = Connections(endpoint_url=clean_sandbox.endpoint_url, region="us-east-1")
    state = tmp_path / "state.json"
    first = entry_manifest(tmp_path / "m", JAN_05)
    result = apply_in_process(clean_sandbox, first, state, connections)
    assert len(result.start_gaps) == 1
    calls = connections.reader(seed.ACCOUNT).calls
    assert calls["GetImport"] == 200  # each foreign import described once, then cached
    assert len(LocalStateStore(state).read().foreign) == 200
    # A second entry, a new run: the cache answers for all 200, in plan and in apply.
    later = Connections(endpoint_url=clean_sandbox.endpoint_url, region="us-east-1")
    jan_06 = {"name": "jan-06", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T23:59:59Z"}
    both = entry_manifest(tmp_path / "m", JAN_05, jan_06)
    result = apply_in_process(clean_sandbox, both, state, later, ApplyOptions(poll_interval=0.05))
    assert len(result.start_gaps) == 1
    gets = later.reader(seed.ACCOUNT).calls.get("GetImport", 0)
    assert gets <= 2, gets  # the imports of our own entries, never the 200 foreign ones


def test_two_pipelines_with_their_own_state_never_duplicate(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """Two CI pipelines apply the same manifests at once, each with its own state, into a
    store that holds 50 other imports: over 20 rounds, every import exists exactly once (each
    pipeline adopts what the other started, or AWS refuses the second start as ongoing)."""
    # Imports that take over a second (as real ones take minutes): a duplicate needs the
    # other pipeline's import to be started *and finished* inside one ListImports-to-StartImport
    # window, which is milliseconds even on a loaded machine, where both pipelines and the
    # sandbox share one process and its GIL here.
    options = ApplyOptions(wait=True, wait_timeout=120, poll_interval=0.05)
    duplicates: Counter[tuple[Any, ...]] = Counter()
    jan_06 = {"name": "jan-06", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T23:59:59Z"}
    manifests = entry_manifest(tmp_path / "m", JAN_05, jan_06)
    rounds = 20
    for round_number in range(rounds):
        clean_sandbox.reset(seed=True)
        clean_sandbox.config(speed=1000.0, init_seconds=1.2)
        clean_sandbox.bulk_imports(
            50,
            seed.MANAGEMENT_STORE_ARN,
            start_event_time="2020-01-01T00:00:00Z",
            end_event_time="2020-01-31T23:59:59Z",
        )
        gate = threading.Barrier(2)
        results: list[ApplyResult | BaseException] = []

        def pipeline(
            index: int,
            number: int = round_number,
            gate: threading.Barrier = gate,
            results: list[ApplyResult | BaseException] = results,
        ) -> None:
            state = tmp_path / f"round-{number}" / f"pipeline-{index}" / "state.json"
            gate.wait()
            try:
                results.append(apply_in_process(clean_sandbox, manifests, state, None, options))
            except BaseException as exc:  # reported below, with the round
                results.append(exc)

        threads = [threading.Thread(target=pipeline, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert all(isinstance(r, ApplyResult) for r in results), results
        found = imports_in(clean_sandbox)
        mine = [i for i in found if i.get("StartEventTime") and i["StartEventTime"].year == 2026]
        keys = Counter(
            (i["Destinations"][0], i["ImportSource"]["S3"]["S3LocationUri"],
             i["StartEventTime"], i["EndEventTime"])
            for i in mine
        )  # fmt: skip
        assert len(keys) == 2, (round_number, keys)
        duplicates.update({key: count - 1 for key, count in keys.items() if count > 1})
        stats = clean_sandbox.stats()
        assert all(s["event_ids_ingested_more_than_once"] == 0 for s in stats.values()), stats
    assert sum(duplicates.values()) == 0, duplicates


class NeighbourWhileFollowing(NeighbourAtTheLastLook):
    """The real connections, but the GetImport that finds `followed` finished (apply following
    the import it just started, with --wait) is followed by a neighbour's start; listings are
    counted, whole Regions and single stores apart."""

    def __init__(self, inner: Connections, neighbour: Any, followed: str) -> None:
        super().__init__(inner, neighbour)
        self.followed = followed
        self.listings: Counter[str] = Counter()

    def reader(self, account: str) -> ImportReader:
        outer, real = self, self.inner.reader(account)

        class Reader:
            def list_imports(
                self, region: str, destination: str | None = None
            ) -> list[ObservedImport]:
                outer.listings["store" if destination else "region"] += 1
                return real.list_imports(region, destination)

            def get_import(self, region: str, import_id: str) -> ObservedImport:
                seen = real.get_import(region, import_id)
                ended = not seen.ongoing and seen.start == _time(outer.followed)
                if ended and not outer.fired:  # while one runs, AWS refuses a second start
                    outer.fired = True
                    outer.neighbour()
                return seen

            def list_failures(self, region: str, import_id: str, limit: int | None = None) -> Any:
                return real.list_failures(region, import_id, limit)

        return Reader()


def _time(text: str) -> Any:
    from reconciler.fields import parse_time

    return parse_time(text)


JAN_06 = {"name": "jan-06", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T23:59:59Z"}
JAN_07 = {"name": "jan-07", "start": "2026-01-07T00:00:00Z", "end": "2026-01-07T23:59:59Z"}


def test_an_import_started_while_apply_follows_its_own_is_never_duplicated(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """apply --wait plans the next start from its last look plus the import it followed, not
    from a new listing; a neighbour who starts an overlapping import during that follow is
    still caught by the look right before the next start."""
    clean_sandbox.config(speed=1000.0, init_seconds=0.3)
    started: list[str] = []
    connector = NeighbourWhileFollowing(
        Connections(endpoint_url=clean_sandbox.endpoint_url, region="us-east-1"),
        lambda: started.append(
            start_by_hand(clean_sandbox, "2026-01-06T12:00:00Z", "2026-01-06T13:00:00Z")
        ),
        followed=JAN_05["start"],
    )
    state = tmp_path / "state.json"
    paths = entry_manifest(tmp_path / "m", JAN_05, JAN_06)
    options = ApplyOptions(wait=True, wait_timeout=120, poll_interval=0.05)
    result = apply_in_process(clean_sandbox, paths, state, connector, options)
    assert connector.fired, "apply never followed jan-05"
    assert result.attention == {"jan-06"}
    into_jan_06 = [i for i in imports_in(clean_sandbox) if i["StartEventTime"].day == 6]
    assert [i["ImportId"] for i in into_jan_06] == started  # only the neighbour's
    assert len(result.start_gaps) == 1  # jan-05 alone was started


def test_apply_wait_lists_the_region_once_per_queue_not_once_per_start(
    clean_sandbox: SandboxClient, tmp_path: Path
) -> None:
    """Three starts in one queue: the plan and the queue's first look list the Region; each
    start lists its store once (the pinned last look); nothing else lists."""
    clean_sandbox.config(speed=1000.0, init_seconds=0.1)
    connector = NeighbourWhileFollowing(
        Connections(endpoint_url=clean_sandbox.endpoint_url, region="us-east-1"),
        lambda: None,
        followed=JAN_05["start"],
    )
    paths = entry_manifest(tmp_path / "m", JAN_05, JAN_06, JAN_07)
    options = ApplyOptions(wait=True, wait_timeout=120, poll_interval=0.05)
    result = apply_in_process(clean_sandbox, paths, tmp_path / "state.json", connector, options)
    assert len(result.start_gaps) == 3 and not result.attention
    records = LocalStateStore(tmp_path / "state.json").read().imports
    assert {name: r.status for name, r in records.items()} == dict.fromkeys(
        ("jan-05", "jan-06", "jan-07"), "COMPLETED"
    )
    assert connector.listings == {"region": 2, "store": 3}
