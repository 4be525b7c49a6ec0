"""The state keeper writes only what a step changed (times alone are not a change)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from reconciler.state.document import ImportRecord
from reconciler.state.keeper import StateKeeper
from reconciler.state.local import LocalStateStore
from tests.test_statestore import with_records

LATER = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_a_refresh_of_every_record_journals_only_the_one_that_changed(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / "state.json")
    with store.lock("test"):
        document = store.write(with_records(store.read(), "a", "b", "c"))
        keeper = StateKeeper(store, document)

        def refresh_all_and_fail_b(current: dict[str, ImportRecord]) -> None:
            for name in current:
                current[name] = replace(current[name], updated_at=LATER)  # a re-plan's refresh
            current["b"] = replace(current["b"], status="FAILED")

        keeper.update(refresh_all_and_fail_b)
        [line] = store.journal_path.read_bytes().splitlines()
        assert list(json.loads(line)["imports"]) == ["b"]
        assert keeper.document.imports["a"] is document.imports["a"]  # kept as written
        assert keeper.document.imports["b"].updated_at == LATER

        def refresh_only(current: dict[str, ImportRecord]) -> None:
            for name in current:
                current[name] = replace(current[name], updated_at=LATER)

        before = keeper.document
        assert keeper.update(refresh_only) is before  # nothing but times: no write at all
        assert len(store.journal_path.read_bytes().splitlines()) == 1
