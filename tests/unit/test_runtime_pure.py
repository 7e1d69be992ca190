"""Pure parts of the agent runtime: graph building, progress, write pacing, slots, quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aide.domain.execution_graph import (
    GraphBuilder,
    StepRecord,
    WriteThrottle,
    estimate_progress,
    json_size_bytes,
    step_node_id,
    task_node_id,
    truncate_utf8,
)
from aide.domain.task_context import DependencyContext, TaskContext
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.task_slots import TaskSlots
from aide.domain.tasks import Task
from aide.domain.users import PeriodicQuota, Quotas, StorageQuota, User
from aide.services.agent_runtime import build_prompt
from aide.services.output_storage import place_outputs
from aide.services.task_admission import task_minutes_refusal

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_graph_links_dependencies_steps_and_output() -> None:
    builder = GraphBuilder.start("t", "Title", ["d1"])
    builder.add_step(StepRecord(1, "Step 1/2: look", 3, 4))
    builder.add_step(StepRecord(2, "FINAL ANSWER: done", 5, 6))
    builder.add_step(StepRecord(2, "again"))  # a replayed step adds nothing
    builder.finish("completed", output_summary="done")
    graph = builder.graph()
    assert [node.type for node in graph.nodes] == [
        "task",
        "dependency",
        "reasoning_step",
        "reasoning_step",
        "output",
    ]
    edges = {(edge.source, edge.target, edge.label) for edge in graph.edges}
    assert (task_node_id("d1"), task_node_id("t"), "input") in edges
    assert (task_node_id("t"), step_node_id("t", 1), "next") in edges
    assert (step_node_id("t", 1), step_node_id("t", 2), "next") in edges
    assert (step_node_id("t", 2), "t_output", "produces") in edges
    assert graph.nodes[0].status == "completed"
    assert GraphBuilder.resume("t", graph).completed_steps() == [1, 2]


@pytest.mark.parametrize(
    ("index", "text", "done", "expected"),
    [
        (1, "Step 1/4: plan", False, 0.25),
        (2, "no marker", False, 0.2),  # 2 of a 10-step budget
        (4, "Step 4/4: last", False, 0.99),  # never 1.0 before the run is done
        (3, "FINAL ANSWER: x", True, 1.0),
    ],
)
def test_progress_estimate(index: int, text: str, done: bool, expected: float) -> None:
    assert estimate_progress(index, text, 10, done=done) == expected


def test_write_throttle_allows_one_write_per_interval() -> None:
    throttle = WriteThrottle(1.0)
    assert throttle.due(0.0)
    throttle.wrote(0.0)
    assert not throttle.due(0.5)
    assert throttle.due(1.0)


def test_truncate_never_splits_a_character() -> None:
    assert truncate_utf8("ééé", 3) == "é"
    assert truncate_utf8("abc", 10) == "abc"


def test_slots_admit_up_to_the_limit_and_release_in_order() -> None:
    slots = TaskSlots(user_id="u").with_running("a").with_running("b")
    assert not slots.has_free_slot("c", 2) and slots.has_free_slot("a", 2)
    slots = slots.with_waiting("c").with_waiting("d").with_waiting("c")
    assert slots.waiting == ["c", "d"]
    slots = slots.without(["a"]).with_running("c")
    assert slots.running == ["b", "c"] and slots.waiting == ["d"]


def user_with(used: float, limit: int, reset: datetime | None) -> User:
    return User(
        uid="u",
        quotas=Quotas(
            task_minutes=PeriodicQuota(limit=limit, used=used, reset=reset),
            storage_bytes=StorageQuota(limit=1),
            api_calls=PeriodicQuota(limit=1),
        ),
    )


def test_task_minute_quota_refusal() -> None:
    assert task_minutes_refusal(None, NOW) is None
    assert task_minutes_refusal(user_with(5, 10, NOW + timedelta(days=1)), NOW) is None
    refusal = task_minutes_refusal(user_with(10, 10, NOW + timedelta(days=1)), NOW)
    assert refusal is not None and refusal.startswith("Quota exceeded: task minutes")
    # A period that ended counts as renewed even before the reset job rewrote the counter.
    assert task_minutes_refusal(user_with(10, 10, NOW - timedelta(seconds=1)), NOW) is None


def test_prompt_carries_inputs_and_dependency_outputs_but_not_provider_knobs() -> None:
    context = TaskContext(
        task_id="t",
        title="Ship it",
        description="Ship the release.",
        inputs={"version": "1.2", "providerOptions": {"latency": 1}},
        dependencies=[
            DependencyContext(
                task_id="d", title="Build", status=TaskStatus.COMPLETED, outputs={"result": "ok"}
            )
        ],
    )
    prompt = build_prompt(context)
    assert "Ship it" in prompt and "'version': '1.2'" in prompt
    assert "Output of 'Build': ok" in prompt and "latency" not in prompt


class RecordingBlobs:
    bucket_name = "b"

    def __init__(self) -> None:
        self.uploads: dict[str, bytes] = {}

    def upload(self, path: str, data: bytes, content_type: str) -> None:
        self.uploads[path] = data

    def download(self, path: str) -> bytes:
        return self.uploads[path]


def test_outputs_over_the_limit_are_placed_in_storage() -> None:
    task = Task(id="t", user_id="u", title="T", description="A description.")
    blobs = RecordingBlobs()
    small = place_outputs(task, {"result": "x"}, blobs, inline_limit=100)
    assert small.output_ref is None and small.outputs == {"result": "x"} and not blobs.uploads
    big_value = {"result": "y" * 200}
    big = place_outputs(task, big_value, blobs, inline_limit=100)
    assert big.output_ref is not None and big.output_ref.size_bytes == json_size_bytes(big_value)
    assert big.outputs["downloadPath"] == "/tasks/t/output"
    assert blobs.uploads == {"task-outputs/u/t/outputs.json": b'{"result": "' + b"y" * 200 + b'"}'}


def test_choose_agent_by_capabilities_named_in_the_task() -> None:
    from aide.domain.agents import Agent, AgentStatus, choose_agent

    coder = Agent(id="coder", name="Coder", model="m", capabilities=["code", "test"])
    writer = Agent(id="writer", name="Writer", model="m", capabilities=["docs", "write"])
    offline = Agent(
        id="aaa", name="Off", model="m", capabilities=["docs"], status=AgentStatus.OFFLINE
    )
    agents = [writer, coder, offline]
    assert choose_agent(agents, "Write the docs", "Docs for users.") is writer
    assert choose_agent(agents, "Fix the code", "Coding and tests.") is coder
    assert choose_agent(agents, "Something", "Unrelated words.") is coder  # tie: lowest id
    assert choose_agent([offline], "docs", "docs docs") is None
