"""The agent runtime against the Firestore emulator (index enforcement on), in process: the
scripted provider, real transactions, real listeners. The whole stack (Pub/Sub, Storage, HTTP)
is exercised in tests/e2e/test_runtime.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from aide.adapters.llm.registry import ProviderSettings, provider_for
from aide.adapters.llm.retries import RetryPolicy
from aide.adapters.repositories.agent_memory import MemoryNodeRepository
from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.agents import Agent, AgentLimits
from aide.domain.execution_graph import step_node_id
from aide.domain.task_events import StreamEventKind
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.tasks import Task
from aide.domain.timestamps import utc_now
from aide.services.agent_runtime import (
    RunOutcome,
    RuntimeDeps,
    RuntimeSettings,
    execute_dispatched_task,
)
from aide.services.stale_task_sweeper import sweep_stale_tasks
from aide.services.task_transitions import change_status
from tests.integration.task_support import slots_ref
from tests.support.task_runs import claim_task


class MemoryBlobs:
    """An in-process BlobStore (Storage itself is covered end to end)."""

    bucket_name = "test-bucket"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def upload(self, path: str, data: bytes, content_type: str) -> None:
        self.objects[path] = data

    def download(self, path: str) -> bytes:
        return self.objects[path]


def deps(db: Any, **settings: Any) -> RuntimeDeps:
    return RuntimeDeps(
        db=db,
        providers=lambda agent: provider_for(agent, ProviderSettings()),
        blobs=MemoryBlobs(),
        settings=RuntimeSettings(
            retry_policy=RetryPolicy(initial_backoff_seconds=0.05, jitter=0.0), **settings
        ),
    )


def seed_agent(db: Any, model: str = "scripted-v1", **limits: Any) -> Agent:
    agent = Agent(id="coder", name="Coder", model=model, limits=AgentLimits(**limits))
    AgentRepository(db).save(agent)
    return agent


def queued_task(db: Any, task_id: str = "t1", user: str = "u1", **fields: Any) -> Task:
    task = Task(
        id=task_id,
        user_id=user,
        title=f"Task {task_id}",
        description="Write a short plan for the release notes.",
        **{"status": TaskStatus.QUEUED, "agent_id": "coder", **fields},
    )
    TaskRepository(db).save(task)
    return task


def load(db: Any, task_id: str) -> Task:
    task = TaskRepository(db).get(task_id)
    assert task is not None
    return task


def test_runs_a_task_to_completion_with_steps_memory_graph_and_metrics(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, inputs={"providerOptions": {"steps": 3}})

    report = execute_dispatched_task(deps(fs_client), "t1")

    assert report.outcome is RunOutcome.COMPLETED, report
    task = load(fs_client, "t1")
    assert task.status is TaskStatus.COMPLETED and task.progress == 1.0
    assert task.outputs is not None and "completed in 3 steps" in task.outputs["result"]
    assert task.metrics.step_count == 3 and (task.metrics.tokens_used or 0) > 0
    assert task.metrics.execution_time_ms is not None and task.metrics.memory_usage_bytes
    events = TaskRepository(fs_client).list_events("t1")
    steps = [e for e in events if e.kind is StreamEventKind.STEP]
    assert [e.data["step"] for e in steps] == [1, 2, 3]
    assert all(e.tokens is not None and e.tokens.total_tokens > 0 for e in steps)
    nodes = MemoryNodeRepository(fs_client).get_many([step_node_id("t1", i) for i in (1, 2, 3)])
    assert [n.step_index for n in nodes] == [1, 2, 3]
    assert task.execution_graph is not None
    assert {"next", "produces"} <= {edge.label for edge in task.execution_graph.edges}
    slots = slots_ref(fs_client, "u1").get().to_dict()
    assert slots is not None and slots["running"] == []


def test_a_second_delivery_is_skipped(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, inputs={"providerOptions": {"steps": 2, "latency": 0.2}})
    results: list[RunOutcome] = []

    def run() -> None:
        results.append(execute_dispatched_task(deps(fs_client), "t1").outcome)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == sorted([RunOutcome.COMPLETED, RunOutcome.SKIPPED, RunOutcome.SKIPPED])
    assert load(fs_client, "t1").attempts == 1


def test_transient_failures_are_retried_inside_the_step_and_recorded(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(
        fs_client, inputs={"providerOptions": {"steps": 2, "fail_transient": 2, "fail_step": 2}}
    )
    report = execute_dispatched_task(deps(fs_client), "t1")
    assert report.outcome is RunOutcome.COMPLETED
    retries = [e for e in TaskRepository(fs_client).list_events("t1") if "retry" in e.data]
    assert [e.data["retry"]["attempt"] for e in retries] == [1, 2]
    assert load(fs_client, "t1").metrics.retries == 2


def test_permanent_failure_fails_with_a_readable_error(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, inputs={"providerOptions": {"fail_permanent": True}})
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.FAILED
    task = load(fs_client, "t1")
    assert task.status is TaskStatus.FAILED
    assert task.error is not None and "permanent failure" in task.error


def test_timeout_fails_the_task(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, timeout_seconds=1, inputs={"providerOptions": {"latency": 5}})
    started = time.monotonic()
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.FAILED
    assert time.monotonic() - started < 4
    task = load(fs_client, "t1")
    assert task.error is not None and "timed out" in task.error


def test_cancel_aborts_the_in_flight_call_and_writes_nothing_after(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, inputs={"providerOptions": {"steps": 5, "latency": 1.5}})
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(execute_dispatched_task(deps(fs_client), "t1"))
    )
    runner.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = [
            e for e in TaskRepository(fs_client).list_events("t1") if e.kind is StreamEventKind.STEP
        ]
        if steps:
            break
        time.sleep(0.05)
    change_status(fs_client, "t1", TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)
    cancelled_at = time.monotonic()
    runner.join(30)
    assert results and results[0].outcome is RunOutcome.CANCELLED
    assert time.monotonic() - cancelled_at < 1.5  # the 1.5 s call was aborted, not awaited
    events = TaskRepository(fs_client).list_events("t1")
    assert events[-1].kind is StreamEventKind.CANCELLED
    assert len([e for e in events if e.kind is StreamEventKind.STEP]) <= 2


def test_concurrency_limit_keeps_extra_tasks_queued_until_a_slot_frees(fs_client: Any) -> None:
    seed_agent(fs_client)
    # The free plan allows 2 concurrent runs.
    for task_id in ("a", "b", "c"):
        queued_task(fs_client, task_id, inputs={"providerOptions": {"steps": 1, "latency": 1}})
    outcomes: dict[str, RunOutcome] = {}

    def run(task_id: str) -> None:
        outcomes[task_id] = execute_dispatched_task(deps(fs_client), task_id).outcome

    threads = [threading.Thread(target=run, args=(task_id,)) for task_id in ("a", "b")]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    assert execute_dispatched_task(deps(fs_client), "c").outcome is RunOutcome.WAITING
    assert load(fs_client, "c").status is TaskStatus.QUEUED
    for thread in threads:
        thread.join(30)
    # The first run to end re-dispatched the waiting task: a fresh outbox record for "c".
    records = [s.to_dict() for s in fs_client.collection("task_dispatches").stream()]
    assert any(record["taskId"] == "c" for record in records)
    assert execute_dispatched_task(deps(fs_client), "c").outcome is RunOutcome.COMPLETED


def test_sweeper_requeues_a_silent_run_and_the_next_attempt_resumes(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, inputs={"providerOptions": {"steps": 2}})
    claim_task(fs_client, "t1")
    TaskRepository(fs_client).update("t1", {"heartbeatAt": utc_now() - timedelta(hours=1)})

    report = sweep_stale_tasks(fs_client)

    assert report.requeued == ["t1"]
    assert load(fs_client, "t1").status is TaskStatus.QUEUED
    assert sweep_stale_tasks(fs_client).requeued == []
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.COMPLETED
    assert load(fs_client, "t1").attempts == 2


def test_a_requeued_task_resumes_after_its_stored_steps(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(
        fs_client, inputs={"providerOptions": {"steps": 3, "fail_transient": 9, "fail_step": 2}}
    )
    first = execute_dispatched_task(deps(fs_client), "t1")
    assert first.outcome is RunOutcome.REQUEUED and first.steps_run == 1
    assert load(fs_client, "t1").status is TaskStatus.QUEUED
    # The provider recovers; the redelivered dispatch runs attempt 2.
    TaskRepository(fs_client).update("t1", {"inputs": {"providerOptions": {"steps": 3}}})

    second = execute_dispatched_task(deps(fs_client), "t1")

    assert second.outcome is RunOutcome.COMPLETED and second.steps_run == 2
    steps = {
        e.data["step"]: e.data["attempt"]
        for e in TaskRepository(fs_client).list_events("t1")
        if e.kind is StreamEventKind.STEP
    }
    assert steps == {1: 1, 2: 2, 3: 2}  # step 1 was not run again
    assert load(fs_client, "t1").metrics.step_count == 3


def test_a_task_without_agent_gets_one_chosen_by_capability(fs_client: Any) -> None:
    AgentRepository(fs_client).save(
        Agent(id="writer", name="Writer", model="scripted-v1", capabilities=["release"])
    )
    seed_agent(fs_client)
    queued_task(fs_client, agent_id=None, inputs={"providerOptions": {"steps": 1}})
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.COMPLETED
    assert load(fs_client, "t1").agent_id == "writer"


def test_slots_left_by_dead_runs_are_reclaimed_at_the_limit(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client, "gone", status=TaskStatus.CANCELLED)
    slots_ref(fs_client, "u1").set({"userId": "u1", "running": ["gone", "ghost"], "waiting": []})
    queued_task(fs_client, inputs={"providerOptions": {"steps": 1}})
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.COMPLETED
    assert (slots_ref(fs_client, "u1").get().to_dict() or {})["running"] == []
