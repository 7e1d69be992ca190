"""`python -m benchmarks.task_costs [--check]`

Runs each task operation through its service against this project's Firestore emulator (with
firestore.indexes.json enforced) and reads the billed document reads/writes/deletes from the
emulator's per-project cost counters (FirestoreEmulator.costs). Each operation runs on a fresh
project so nothing else is counted. Writes benchmarks/results/task_costs.{md,json}; `--check`
exits non-zero when a budget below is exceeded.

Budgets (what the design promises, checked here):
- creating a task: at most 2 reads and 4 writes (task, queued event, outbox record, and the
  idempotency record when a key is sent);
- a group's cost per task is at most that of a single create;
- completing a task costs work in proportion to its own dependents: the same for a task with 10
  dependents in a 100-task group and in a 1,000-task group;
- a page of tasks costs one read per task returned plus one (the look-ahead), at most 101.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from aide.domain.task_groups import TaskGroupCreate  # noqa: E402
from aide.domain.tasks import TaskCreate, TaskListQuery  # noqa: E402
from aide.services import task_groups, tasks  # noqa: E402
from aide.services.task_dispatch import publish_dispatch  # noqa: E402
from benchmarks.scratch_project import scratch_project  # noqa: E402
from tests.support.task_runs import claim_task, complete_task  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
OWNER = "bench-user"


@dataclass
class Row:
    operation: str
    reads: int
    writes: int
    deletes: int
    tasks: int = 1
    note: str = ""

    @property
    def per_task(self) -> tuple[float, float]:
        return self.reads / self.tasks, self.writes / self.tasks


class Bench:
    def __init__(self) -> None:
        from emulators.firestore import FirestoreEmulator
        from emulators.pubsub import PubSubEmulator

        self.firestore = FirestoreEmulator(indexes_path=ROOT / "firestore.indexes.json").start()
        self.pubsub = PubSubEmulator().start()

    def close(self) -> None:
        self.pubsub.stop()
        self.firestore.stop()

    def project(self) -> AbstractContextManager[tuple[str, Any]]:
        return scratch_project(self.firestore)

    def measure(
        self,
        operation: str,
        setup: Callable[[Any], Any],
        run: Callable[[Any, Any], Any],
        *,
        tasks: int = 1,
        note: str = "",
    ) -> Row:
        with self.project() as (project, db):
            state = setup(db)
            self.firestore.reset_costs(project)
            run(db, state)
            costs = self.firestore.costs(project)
        return Row(operation, costs["reads"], costs["writes"], costs["deletes"], tasks, note)

    def publisher(self, project: str) -> Any:
        import os

        from google.cloud import pubsub_v1

        from aide.adapters.pubsub_publisher import PubSubPublisher

        os.environ["PUBSUB_EMULATOR_HOST"] = self.pubsub.address
        return PubSubPublisher(client=pubsub_v1.PublisherClient(), project=project)


def payload(title: str = "Benchmark task", **fields: Any) -> TaskCreate:
    return TaskCreate.model_validate(
        {"title": title, "description": "A benchmark task description.", **fields}
    )


def group(specs: list[tuple[str, list[str]]]) -> TaskGroupCreate:
    return TaskGroupCreate.model_validate(
        {
            "tasks": [
                {
                    "ref": ref,
                    "title": f"Task {ref}",
                    "description": "Benchmark group task.",
                    "dependencies": deps,
                }
                for ref, deps in specs
            ]
        }
    )


def fan_out_group(size: int, dependents: int) -> TaskGroupCreate:
    """`hub` with `dependents` tasks waiting only for it, padded with independent chains."""
    specs: list[tuple[str, list[str]]] = [("hub", [])]
    specs += [(f"d{i}", ["hub"]) for i in range(dependents)]
    rest = size - len(specs)
    specs += [(f"p{i}", [f"p{i - 1}"] if i % 10 else []) for i in range(rest)]
    return group(specs)


def started_hub(db: Any, size: int, dependents: int) -> str:
    created = task_groups.create_task_group(db, OWNER, fan_out_group(size, dependents)).group
    hub = next(member.id for member in created.tasks if member.ref == "hub")
    claim_task(db, hub)
    return hub


def run_all(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    rows.append(
        bench.measure(
            "create task",
            lambda db: None,
            lambda db, _: tasks.create_task(db, OWNER, payload()),
            note="queued at once: task + queued event + outbox record",
        )
    )
    rows.append(
        bench.measure(
            "create task with Idempotency-Key",
            lambda db: None,
            lambda db, _: tasks.create_task(db, OWNER, payload(), idempotency_key="k1"),
            note="+1 read and +1 write for the idempotency record",
        )
    )
    rows.append(
        bench.measure(
            "replay of an Idempotency-Key create",
            lambda db: tasks.create_task(db, OWNER, payload(), idempotency_key="k1"),
            lambda db, _: tasks.create_task(db, OWNER, payload(), idempotency_key="k1"),
            note="reads the record, writes nothing",
        )
    )
    hundred = group(
        [(f"r{i}", []) for i in range(10)] + [(f"t{i}", [f"r{i % 10}"]) for i in range(90)]
    )
    rows.append(
        bench.measure(
            "create a 100-task group",
            lambda db: None,
            lambda db, _: task_groups.create_task_group(db, OWNER, hundred),
            tasks=100,
            note="10 dispatched at once, 90 pending; one transaction",
        )
    )
    rows.append(
        bench.measure(
            "complete a task with 10 dependents (100-task group)",
            lambda db: started_hub(db, 100, 10),
            lambda db, hub: complete_task(db, hub),
            note="the 10 dependents are dispatched",
        )
    )
    rows.append(
        bench.measure(
            "complete a task with 10 dependents (1,000-task group)",
            lambda db: started_hub(db, 1000, 10),
            lambda db, hub: complete_task(db, hub),
            note="same as in the 100-task group: independent of group size",
        )
    )
    rows.append(
        bench.measure(
            "claim a queued task",
            lambda db: tasks.create_task(db, OWNER, payload()).task.id,
            lambda db, task_id: claim_task(db, task_id),
        )
    )

    def seeded_list(db: Any) -> None:
        for i in range(30):
            tasks.create_task(db, OWNER, payload(f"Listed task {i}"))

    rows.append(
        bench.measure(
            "list a page of 20 tasks",
            seeded_list,
            lambda db, _: tasks.list_tasks(db, OWNER, TaskListQuery(limit=20)),
            tasks=20,
            note="20 + 1 look-ahead document",
        )
    )

    def relay_setup(db: Any) -> str:
        task = tasks.create_task(db, OWNER, payload()).task
        from aide.adapters.repositories.task_dispatches import TaskDispatchRepository

        [record] = list(TaskDispatchRepository(db).collection.stream())
        assert record.to_dict()["taskId"] == task.id
        return str(record.id)

    with bench.project() as (project, _):
        publisher = bench.publisher(project)
    rows.append(
        bench.measure(
            "relay one dispatch to Pub/Sub (trigger)",
            relay_setup,
            lambda db, record_id: publish_dispatch(db, publisher, record_id),
            note="outbox record read + marked published",
        )
    )
    return rows


def budget_failures(rows: list[Row]) -> list[str]:
    by_name = {row.operation: row for row in rows}
    single = by_name["create task"]
    grouped = by_name["create a 100-task group"]
    small = by_name["complete a task with 10 dependents (100-task group)"]
    large = by_name["complete a task with 10 dependents (1,000-task group)"]
    page = by_name["list a page of 20 tasks"]
    keyed = by_name["create task with Idempotency-Key"]
    failures = []
    if keyed.reads > 2 or keyed.writes > 4:
        failures.append(f"create task: {keyed.reads} reads / {keyed.writes} writes > 2 / 4")
    if grouped.per_task[0] > single.reads or grouped.per_task[1] > single.writes:
        failures.append(
            f"group per task {grouped.per_task} > single create ({single.reads}, {single.writes})"
        )
    if (small.reads, small.writes) != (large.reads, large.writes):
        failures.append("completing a task costs more in a larger group")
    if page.reads > page.tasks + 1:
        failures.append(f"list page: {page.reads} reads for {page.tasks} tasks")
    return failures


def render(rows: list[Row], failures: list[str]) -> str:
    lines = [
        "# Task operations: Firestore cost",
        "",
        f"Generated by `python -m benchmarks.task_costs` on {datetime.now(UTC):%Y-%m-%d %H:%M} "
        f"UTC (Python {platform.python_version()}), from the Firestore emulator's billed "
        "document reads/writes/deletes per project. Service-level: the HTTP layer adds the "
        "caller's user document read (authentication) to each request.",
        "",
        "| operation | reads | writes | deletes | tasks | reads/task | writes/task | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        r, w = row.per_task
        lines.append(
            f"| {row.operation} | {row.reads} | {row.writes} | {row.deletes} | "
            f"{row.tasks} | {r:.2f} | {w:.2f} | {row.note} |"
        )
    lines += [
        "",
        "## Budget",
        "",
        "- create a task: at most 2 reads and 4 writes (task, queued event, outbox record, "
        "idempotency record);",
        "- a group costs at most a single create per task (one transaction for the whole group);",
        "- completing a task: proportional to its own dependents (each dependent read once, each "
        "dispatched one written with its event and outbox record, the group document once), "
        "equal in a 100- and a 1,000-task group;",
        "- listing a page: one read per task returned plus one look-ahead.",
        "",
        "Result: "
        + ("all budgets met." if not failures else "OVER BUDGET: " + "; ".join(failures)),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.task_costs")
    parser.add_argument("--check", action="store_true", help="fail when over budget")
    args = parser.parse_args(argv)
    bench = Bench()
    try:
        rows = run_all(bench)
    finally:
        bench.close()
    failures = budget_failures(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "task_costs.md").write_text(render(rows, failures))
    (RESULTS / "task_costs.json").write_text(
        json.dumps({"rows": [asdict(row) for row in rows], "overBudget": failures}, indent=2) + "\n"
    )
    print((RESULTS / "task_costs.md").read_text())
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
