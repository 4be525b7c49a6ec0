"""The import state machine on its own (no HTTP): properties over random files and clocks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.sandbox import progress
from reconciler.sandbox.progress import FileFailed, FileResult, Ingested, LakeImport, Pace


def _import() -> LakeImport:
    return LakeImport(
        import_id="0" * 36, destination="arn", source={}, bucket="b", prefix="",
        start=None, end=None, created=0.0, updated=0.0, run_started=0.0,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    files=st.integers(min_value=0, max_value=40),
    bad=st.sets(st.integers(min_value=0, max_value=39)),
    speed=st.floats(min_value=0.5, max_value=500),
    polls=st.lists(st.floats(min_value=0, max_value=100), max_size=8),
)
def test_statistics_grow_and_retry_finishes_the_rest(
    files: int, bad: set[int], speed: float, polls: list[float]
) -> None:
    keys = [f"AWSLogs/1/CloudTrail/r/2026/01/0{i % 3 + 1}/f{i:02d}.json.gz" for i in range(files)]
    broken = {keys[i] for i in bad if i < files}
    reads: list[str] = []

    def process(_imp: LakeImport, key: str, _at: float) -> FileResult:
        reads.append(key)
        return FileFailed("InvalidFileFormat", "bad") if key in broken else Ingested(2)

    imp, pace = _import(), Pace(speed, 1.0)
    completed = 0
    for now in [*sorted(polls), 1.0 + files / speed + 1]:
        progress.advance(imp, now, pace, lambda _imp: keys, process)
        stats = imp.statistics()
        assert stats["FilesCompleted"] >= completed
        completed = stats["FilesCompleted"]
    assert imp.status == (progress.FAILED if broken else progress.COMPLETED)
    assert imp.statistics()["FilesCompleted"] == files - len(broken)
    assert imp.statistics()["FailedEntries"] == len(broken)
    assert sorted(reads) == sorted(keys)  # every file read exactly once

    broken.clear()  # the files are replaced; a retry reads only the failed ones
    reads.clear()
    failed_before = {f.location.split("/", 3)[3] for f in imp.failures.values()}
    progress.begin_run(imp, 1000.0)
    progress.advance(imp, 1000.0 + 1.0 + files / speed + 1, pace, lambda _imp: keys, process)
    assert imp.status == progress.COMPLETED
    assert set(reads) == failed_before
    assert imp.statistics() == {
        "PrefixesFound": len({k.rsplit("/", 1)[0] for k in keys}),
        "PrefixesCompleted": len({k.rsplit("/", 1)[0] for k in keys}),
        "FilesCompleted": files, "EventsCompleted": 2 * files, "FailedEntries": 0,
    }  # fmt: skip


def test_stop_freezes_progress() -> None:
    imp = _import()
    process = lambda _imp, _key, _at: Ingested(1)  # noqa: E731
    keys = [f"CloudTrail/f{i}" for i in range(10)]
    progress.advance(imp, 1.5, Pace(10, 1.0), lambda _imp: keys, process)
    assert imp.statistics()["FilesCompleted"] == 5
    progress.stop(imp, 1.5)
    progress.advance(imp, 99.0, Pace(10, 1.0), lambda _imp: keys, process)
    assert (imp.status, imp.statistics()["FilesCompleted"]) == (progress.STOPPED, 5)
