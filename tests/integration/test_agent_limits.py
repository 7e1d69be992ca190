"""Agent status and per-agent concurrency, against the Firestore emulator (indexes enforced), in
process with the scripted provider: offline agents never run tasks, an agent at its concurrency
limit leaves further tasks queued until a run of it ends (then the oldest waiting one is
re-dispatched through the outbox, no polling), and its status is busy while it runs tasks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.agents import Agent, AgentLimits, AgentStatus
from aide.domain.task_events import StreamEventKind
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.task_slots import agent_slots_id
from aide.services.agent_runtime import RunOutcome, RunReport, execute_dispatched_task
from aide.services.task_transitions import change_status
from tests.integration.task_support import slots_ref
from tests.integration.test_agent_runtime import deps, load, queued_task

SLOW = {"providerOptions": {"steps": 1, "latency": 1.5}}
QUICK = {"providerOptions": {"steps": 1}}


def save_agent(db: Any, agent_id: str = "coder", **fields: Any) -> Agent:
    agent = Agent(id=agent_id, name=agent_id.title(), model="scripted-v1", **fields)
    AgentRepository(db).save(agent)
    return agent


def agent_status(db: Any, agent_id: str = "coder") -> AgentStatus:
    agent = AgentRepository(db).get(agent_id)
    assert agent is not None
    return agent.status


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def dispatched_task_ids(db: Any) -> list[str]:
    return [s.to_dict()["taskId"] for s in db.collection("task_dispatches").stream()]


def in_background(db: Any, task_id: str) -> tuple[threading.Thread, list[RunReport]]:
    reports: list[RunReport] = []
    thread = threading.Thread(
        target=lambda: reports.append(execute_dispatched_task(deps(db), task_id))
    )
    thread.start()
    return thread, reports


def test_a_task_naming_an_offline_agent_fails_readably_without_running(fs_client: Any) -> None:
    save_agent(fs_client, status=AgentStatus.OFFLINE)
    queued_task(fs_client, inputs=QUICK)

    report = execute_dispatched_task(deps(fs_client), "t1")

    assert report.outcome is RunOutcome.FAILED and report.steps_run == 0
    task = load(fs_client, "t1")
    assert task.status is TaskStatus.FAILED and task.error == "agent 'coder' is offline"
    assert agent_status(fs_client) is AgentStatus.OFFLINE
    events = TaskRepository(fs_client).list_events("t1")
    assert not [e for e in events if e.kind is StreamEventKind.STEP]


def test_offline_agents_are_never_chosen(fs_client: Any) -> None:
    # "writer" fits the task best but is offline: the runtime picks the online agent.
    save_agent(fs_client, "writer", capabilities=["release"], status=AgentStatus.OFFLINE)
    save_agent(fs_client, "coder")
    queued_task(fs_client, agent_id=None, inputs=QUICK)
    assert execute_dispatched_task(deps(fs_client), "t1").outcome is RunOutcome.COMPLETED
    assert load(fs_client, "t1").agent_id == "coder"

    AgentRepository(fs_client).update("coder", {"status": "offline"})
    queued_task(fs_client, "t2", agent_id=None, inputs=QUICK)
    assert execute_dispatched_task(deps(fs_client), "t2").outcome is RunOutcome.FAILED
    error = load(fs_client, "t2").error
    assert error is not None and "no agent is available" in error


def test_an_agent_at_its_concurrency_limit_leaves_tasks_queued_until_a_slot_frees(
    fs_client: Any,
) -> None:
    save_agent(fs_client, limits=AgentLimits(concurrency=1))
    # Different users: their own limits (2 runs each) are not what holds the tasks back.
    queued_task(fs_client, "a", user="u1", inputs=SLOW)
    queued_task(fs_client, "b", user="u2", inputs=QUICK)
    queued_task(fs_client, "c", user="u3", inputs=QUICK)
    assert agent_status(fs_client) is AgentStatus.IDLE

    runner, reports = in_background(fs_client, "a")
    wait_for(lambda: load(fs_client, "a").status is TaskStatus.IN_PROGRESS)
    assert agent_status(fs_client) is AgentStatus.BUSY

    assert execute_dispatched_task(deps(fs_client), "b").outcome is RunOutcome.WAITING
    assert execute_dispatched_task(deps(fs_client), "c").outcome is RunOutcome.WAITING
    # A redelivery while waiting changes nothing and adds no second event.
    assert execute_dispatched_task(deps(fs_client), "b").outcome is RunOutcome.WAITING
    assert load(fs_client, "b").status is TaskStatus.QUEUED
    waiting_events = [
        e for e in TaskRepository(fs_client).list_events("b") if e.data.get("waiting")
    ]
    assert [e.message for e in waiting_events] == [
        "waiting for agent 'coder' (1 of its 1 concurrent runs in use)"
    ]
    pool = slots_ref(fs_client, agent_slots_id("coder")).get().to_dict() or {}
    assert pool["running"] == ["a"] and pool["waiting"] == ["b", "c"]
    assert "b" not in dispatched_task_ids(fs_client)

    runner.join(30)
    assert reports and reports[0].outcome is RunOutcome.COMPLETED
    # The run that ended re-dispatched the oldest waiting task (one outbox record), only it.
    assert dispatched_task_ids(fs_client).count("b") == 1
    assert "c" not in dispatched_task_ids(fs_client)
    assert agent_status(fs_client) is AgentStatus.IDLE

    assert execute_dispatched_task(deps(fs_client), "b").outcome is RunOutcome.COMPLETED
    assert "c" in dispatched_task_ids(fs_client)
    assert execute_dispatched_task(deps(fs_client), "c").outcome is RunOutcome.COMPLETED
    assert agent_status(fs_client) is AgentStatus.IDLE
    pool = slots_ref(fs_client, agent_slots_id("coder")).get().to_dict() or {}
    assert pool["running"] == [] and pool["waiting"] == []


def test_agents_limit_separately_and_status_follows_each_agents_runs(fs_client: Any) -> None:
    save_agent(fs_client, "coder", limits=AgentLimits(concurrency=1))
    save_agent(fs_client, "reviewer", limits=AgentLimits(concurrency=1))
    queued_task(fs_client, "a", user="u1", inputs=SLOW)
    queued_task(fs_client, "r", user="u2", agent_id="reviewer", inputs=QUICK)

    runner, reports = in_background(fs_client, "a")
    wait_for(lambda: agent_status(fs_client) is AgentStatus.BUSY)
    # The reviewer is not held back by the coder's limit.
    assert execute_dispatched_task(deps(fs_client), "r").outcome is RunOutcome.COMPLETED
    assert agent_status(fs_client, "reviewer") is AgentStatus.IDLE
    assert agent_status(fs_client, "coder") is AgentStatus.BUSY
    runner.join(30)
    assert reports[0].outcome is RunOutcome.COMPLETED
    assert agent_status(fs_client, "coder") is AgentStatus.IDLE


def test_a_task_waiting_for_its_user_gives_up_its_place_in_a_free_agents_line(
    fs_client: Any,
) -> None:
    # u1's plan allows 2 runs. "x" waited for the agent earlier; now the agent has room but u1
    # has none: x moves to u1's line and the agent's turn passes to "y" (another user's).
    save_agent(fs_client, limits=AgentLimits(concurrency=3))
    for task_id in ("r1", "r2"):
        queued_task(fs_client, task_id, user="u1", status=TaskStatus.IN_PROGRESS)
    slots_ref(fs_client, "u1").set({"userId": "u1", "running": ["r1", "r2"], "waiting": []})
    queued_task(fs_client, "x", user="u1", inputs=QUICK)
    queued_task(fs_client, "y", user="u2", inputs=QUICK)
    slots_ref(fs_client, agent_slots_id("coder")).set(
        {"agentId": "coder", "running": [], "waiting": ["x", "y"]}
    )

    assert execute_dispatched_task(deps(fs_client), "x").outcome is RunOutcome.WAITING

    assert (slots_ref(fs_client, "u1").get().to_dict() or {})["waiting"] == ["x"]
    pool = slots_ref(fs_client, agent_slots_id("coder")).get().to_dict() or {}
    assert pool["waiting"] == ["y"]
    assert dispatched_task_ids(fs_client) == ["y"]
    assert execute_dispatched_task(deps(fs_client), "y").outcome is RunOutcome.COMPLETED


def test_a_cancelled_run_frees_its_agent_at_once(fs_client: Any) -> None:
    save_agent(fs_client, limits=AgentLimits(concurrency=1))
    queued_task(fs_client, "a", user="u1", inputs={"providerOptions": {"steps": 5, "latency": 1}})
    queued_task(fs_client, "b", user="u2", inputs=QUICK)
    runner, reports = in_background(fs_client, "a")
    wait_for(lambda: agent_status(fs_client) is AgentStatus.BUSY)
    assert execute_dispatched_task(deps(fs_client), "b").outcome is RunOutcome.WAITING

    change_status(fs_client, "a", TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)
    runner.join(30)

    assert reports and reports[0].outcome is RunOutcome.CANCELLED
    assert agent_status(fs_client) is AgentStatus.IDLE
    assert dispatched_task_ids(fs_client).count("b") == 1
    assert execute_dispatched_task(deps(fs_client), "b").outcome is RunOutcome.COMPLETED
