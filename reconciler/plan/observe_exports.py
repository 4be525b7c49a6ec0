"""Read the CloudWatch Logs import tasks the exports' plan needs (I/O through the port only).

One DescribeImportTasks walk per (account, Region) of a desired export, and batches only for
FAILED tasks that carry a desired export's identity (what `attention` shows). Places are
independent and read side by side, as observe.py does for imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.errors import CloudError
from reconciler.exportspec import ExportSpec
from reconciler.observed import Place
from reconciler.observed_exports import ObservedExport
from reconciler.plan.exports import ExportObservation
from reconciler.ports import ExportReader


def observe_exports(
    reader_for: Callable[[str], ExportReader],
    exports: Sequence[ExportSpec],
    parallelism: int = 8,
    also: Iterable[Place] = (),
) -> ExportObservation:
    """`also`: more places to list (those of state records about to be forgotten, whose
    active task --stop-removed may cancel)."""
    places = sorted({(spec.account, spec.region) for spec in exports} | set(also))
    wanted = {spec.identity for spec in exports}

    def read(place: Place) -> tuple[Place, list[ObservedExport] | str]:
        account, region = place
        try:
            reader = reader_for(account)
            tasks = reader.list_tasks(region)
            return place, [
                _with_batches(reader, task) if task.identity in wanted else task for task in tasks
            ]
        except CloudError as exc:
            return place, str(exc)

    if len(places) > 1 and parallelism > 1:
        with ThreadPoolExecutor(max_workers=min(parallelism, len(places))) as pool:
            results = list(pool.map(read, places))
    else:
        results = [read(place) for place in places]
    tasks: dict[str, ObservedExport] = {}
    listed: set[Place] = set()
    errors: dict[Place, str] = {}
    for place, outcome in results:
        if isinstance(outcome, str):
            errors[place] = outcome
            continue
        listed.add(place)
        tasks.update((task.import_id, task) for task in outcome)
    return ExportObservation(tasks=tasks, places=frozenset(listed), errors=errors)


def _with_batches(reader: ExportReader, task: ObservedExport) -> ObservedExport:
    if task.status != "FAILED":
        return task
    from dataclasses import replace

    return replace(task, batches=reader.batches(task.region, task.import_id))
