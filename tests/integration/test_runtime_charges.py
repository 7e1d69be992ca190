"""The agent runtime charges quotas against the Firestore emulator: task minutes
from the run's real executionTimeMs exactly once even when the message is delivered several
times, every attempt of a requeued task, and storage bytes for outputs bound for Cloud Storage
(refused → the task fails with a readable quota error). Storage itself is the in-process blob
store of test_agent_runtime; the upload to the real emulator is covered in tests/e2e."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from aide.domain import collections
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.timestamps import utc_now
from aide.domain.usage import daily_usage_id
from aide.domain.users import User, quotas_for_plan
from aide.services.agent_runtime import RunOutcome, execute_dispatched_task
from aide.services.output_storage import output_path
from tests.integration.test_agent_runtime import MemoryBlobs, deps, load, queued_task, seed_agent

# Small enough that every scripted output is stored in "Cloud Storage".
INLINE_LIMIT = 64


def make_user(db: Any, uid: str, *, storage_limit: int = 10_000_000) -> None:
    quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], utc_now())
    quotas.storage_bytes.limit = storage_limit
    db.collection(collections.USERS).document(uid).set(User(uid=uid, quotas=quotas).to_document())


def quotas(db: Any, uid: str) -> dict[str, Any]:
    return dict(db.collection(collections.USERS).document(uid).get().to_dict()["quotas"])


def usage_today(db: Any, uid: str) -> dict[str, Any]:
    snapshot = db.collection(collections.USAGE).document(daily_usage_id(uid, utc_now().date()))
    return snapshot.get().to_dict() or {}


def run_concurrently(db: Any, task_id: str, deliveries: int, **settings: Any) -> list[Any]:
    reports: list[Any] = []
    threads = [
        threading.Thread(
            target=lambda: reports.append(execute_dispatched_task(deps(db, **settings), task_id))
        )
        for _ in range(deliveries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reports) == deliveries, "a delivery did not finish in time"
    return reports


def test_task_minutes_are_charged_from_execution_time_once_despite_duplicates(
    fs_client: Any,
) -> None:
    make_user(fs_client, "u1")
    seed_agent(fs_client)
    queued_task(fs_client, "t1", "u1", inputs={"providerOptions": {"steps": 2, "latency": 0.3}})

    reports = run_concurrently(fs_client, "t1", 3)
    assert sorted(r.outcome for r in reports) == sorted(
        [RunOutcome.COMPLETED, RunOutcome.SKIPPED, RunOutcome.SKIPPED]
    )
    # A redelivery after the end charges nothing either.
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.SKIPPED

    task = load(fs_client, "t1")
    assert task.status is TaskStatus.COMPLETED
    execution_ms = task.metrics.execution_time_ms
    assert execution_ms is not None and execution_ms >= 600  # two 0.3 s provider calls
    used = quotas(fs_client, "u1")["taskMinutes"]["used"]
    assert used == pytest.approx(execution_ms / 60_000, abs=1e-9)
    usage = usage_today(fs_client, "u1")
    assert usage["taskMinutes"] == pytest.approx(execution_ms / 60_000, abs=1e-9)
    assert usage["tasksCompleted"] == 1


def test_every_attempt_of_a_requeued_task_is_charged_for_its_own_time(fs_client: Any) -> None:
    make_user(fs_client, "u2")
    seed_agent(fs_client)
    # Each attempt's only step keeps failing transiently: requeued, requeued, then failed.
    queued_task(
        fs_client,
        "t2",
        "u2",
        inputs={"providerOptions": {"steps": 1, "latency": 0.2, "fail_transient": 9}},
    )
    reports = [execute_dispatched_task(deps(fs_client), "t2") for _ in range(3)]
    outcomes = [report.outcome for report in reports]
    assert outcomes == [RunOutcome.REQUEUED, RunOutcome.REQUEUED, RunOutcome.FAILED]
    assert load(fs_client, "t2").attempts == 3

    used_ms = quotas(fs_client, "u2")["taskMinutes"]["used"] * 60_000
    # Each attempt waits out the retry policy's backoff (0.05 + 0.1 + 0.2 s) before giving up;
    # all three attempts are charged for their own time, none twice. A run's report is taken
    # a moment after the metrics it was charged for, hence the tolerance.
    assert all(report.execution_ms >= 300 for report in reports)
    assert used_ms == pytest.approx(sum(r.execution_ms for r in reports), abs=3 * 100)
    final_ms = load(fs_client, "t2").metrics.execution_time_ms or 0
    assert used_ms > final_ms + 2 * 300
    assert "tasksCompleted" not in usage_today(fs_client, "u2")


def test_a_large_output_is_charged_to_storage_once(fs_client: Any) -> None:
    make_user(fs_client, "u3")
    seed_agent(fs_client)
    queued_task(fs_client, "t3", "u3", inputs={"providerOptions": {"steps": 2}})
    blobs = MemoryBlobs()

    def deliver() -> RunOutcome:
        run_deps = replace(deps(fs_client, inline_output_limit_bytes=INLINE_LIMIT), blobs=blobs)
        return execute_dispatched_task(run_deps, "t3").outcome

    assert deliver() is RunOutcome.COMPLETED
    assert deliver() is RunOutcome.SKIPPED
    task = load(fs_client, "t3")
    assert task.output_ref is not None and task.output_ref.path == output_path(task)
    assert task.output_ref.path in blobs.objects
    size = task.output_ref.size_bytes
    assert size > INLINE_LIMIT
    assert quotas(fs_client, "u3")["storageBytes"]["used"] == size
    assert usage_today(fs_client, "u3")["storageBytes"] == size


def test_an_output_over_the_storage_quota_fails_the_task_readably(fs_client: Any) -> None:
    make_user(fs_client, "u4", storage_limit=INLINE_LIMIT + 1)
    seed_agent(fs_client)
    queued_task(fs_client, "t4", "u4", inputs={"providerOptions": {"steps": 1}})
    blobs = MemoryBlobs()
    run_deps = replace(deps(fs_client, inline_output_limit_bytes=INLINE_LIMIT), blobs=blobs)

    assert execute_dispatched_task(run_deps, "t4").outcome is RunOutcome.FAILED
    task = load(fs_client, "t4")
    assert task.status is TaskStatus.FAILED
    assert task.error is not None and task.error.startswith("Quota exceeded: storage bytes")
    assert blobs.objects == {} and task.output_ref is None
    stored = quotas(fs_client, "u4")
    assert stored["storageBytes"]["used"] == 0
    # The failed run's time is still charged: the agent did run.
    assert stored["taskMinutes"]["used"] > 0
