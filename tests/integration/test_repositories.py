"""Repositories against the Firestore emulator: models in, camelCase documents, models out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions as gexc

from aide.adapters.repositories import (
    AgentRepository,
    ApiKeyRepository,
    PlansRepository,
    ProbeResultRepository,
    TaskRepository,
    UserRepository,
)
from aide.domain.agents import Agent, AgentStatus
from aide.domain.api_keys import ApiKey
from aide.domain.probes import ProbeResult
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.task_events import StreamEventKind, TaskEvent, TokenCounts
from aide.domain.tasks import ExecutionGraph, ExecutionGraphNode, Task, TaskPriority, TaskStatus
from aide.domain.users import PeriodicQuota, Quotas, StorageQuota, User, UserRole

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)


def _user(uid: str = "u1") -> User:
    return User(
        uid=uid,
        email=f"{uid}@example.com",
        quotas=Quotas(
            task_minutes=PeriodicQuota(limit=100, reset=WHEN),
            storage_bytes=StorageQuota(limit=1000),
            api_calls=PeriodicQuota(limit=1000, reset=WHEN),
        ),
        created_at=WHEN,
        updated_at=WHEN,
    )


def _task(task_id: str = "t1") -> Task:
    return Task(
        id=task_id,
        user_id="u1",
        title="Write tests",
        description="Write the repository tests",
        priority=TaskPriority.HIGH,
        inputs={"nested": {"k": [1, 2]}},
        execution_graph=ExecutionGraph(
            nodes=[ExecutionGraphNode(id="n1", type="step", status="done", data={"x": 1})]
        ),
        created_at=WHEN,
        updated_at=WHEN,
    )


def test_user_round_trip_stores_camel_case_and_native_timestamps(fs_client: Any) -> None:
    users = UserRepository(fs_client)
    users.create(_user())

    raw = fs_client.collection("users").document("u1").get().to_dict()
    assert raw["quotas"]["taskMinutes"]["limit"] == 100
    assert raw["role"] == "user"
    assert raw["status"] == "active"
    assert isinstance(raw["createdAt"], datetime)
    assert raw["createdAt"] == WHEN
    assert "display_name" not in raw and "displayName" not in raw  # None fields are omitted

    loaded = users.get("u1")
    assert loaded == _user()
    assert loaded is not None and loaded.created_at.tzinfo is not None


def test_create_refuses_an_existing_document(fs_client: Any) -> None:
    users = UserRepository(fs_client)
    users.create(_user())
    with pytest.raises((gexc.AlreadyExists, gexc.Conflict)):
        users.create(_user())


def test_missing_documents_read_as_none(fs_client: Any) -> None:
    assert UserRepository(fs_client).get("nobody") is None
    assert TaskRepository(fs_client).get_many(["a", "b"]) == []


def test_update_save_delete(fs_client: Any) -> None:
    users = UserRepository(fs_client)
    users.create(_user())
    users.update("u1", {"role": str(UserRole.ADMIN), "quotas.apiCalls.used": 5})
    loaded = users.get("u1")
    assert loaded is not None
    assert loaded.role is UserRole.ADMIN
    assert loaded.quotas.api_calls.used == 5

    users.save(loaded.model_copy(update={"display_name": "Ada"}))
    assert users.get("u1").display_name == "Ada"  # type: ignore[union-attr]

    users.delete("u1")
    assert users.get("u1") is None


def test_writes_in_one_transaction_commit_together(fs_client: Any) -> None:
    from google.cloud import firestore

    tasks = TaskRepository(fs_client)

    @firestore.transactional
    def create_two(transaction: Any) -> None:
        assert tasks.get("a", transaction=transaction) is None
        tasks.create(_task("a"), writer=transaction)
        tasks.create(_task("b"), writer=transaction)

    create_two(fs_client.transaction())
    assert [task.id for task in tasks.get_many(["b", "missing", "a"])] == ["b", "a"]


def test_a_failed_transaction_writes_nothing(fs_client: Any) -> None:
    from google.cloud import firestore

    tasks = TaskRepository(fs_client)

    @firestore.transactional
    def create_then_fail(transaction: Any) -> None:
        tasks.create(_task("a"), writer=transaction)
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        create_then_fail(fs_client.transaction())
    assert tasks.get("a") is None


def test_task_with_graph_and_events(fs_client: Any) -> None:
    tasks = TaskRepository(fs_client)
    tasks.create(_task())
    loaded = tasks.get("t1")
    assert loaded == _task()
    assert loaded is not None and loaded.status is TaskStatus.PENDING

    batch = fs_client.batch()
    for index, kind in enumerate((StreamEventKind.QUEUED, StreamEventKind.STEP)):
        tasks.add_event(
            TaskEvent(
                id=tasks.new_event_id("t1"),
                task_id="t1",
                kind=kind,
                message=f"event {index}",
                timestamp=WHEN + timedelta(seconds=index),
                tokens=TokenCounts(prompt_tokens=3, completion_tokens=4, total_tokens=7)
                if kind is StreamEventKind.STEP
                else None,
            ),
            writer=batch,
        )
    batch.commit()

    events = tasks.list_events("t1")
    assert [event.kind for event in events] == [StreamEventKind.QUEUED, StreamEventKind.STEP]
    assert events[1].tokens == TokenCounts(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    raw = tasks.events("t1").document(events[1].id).get().to_dict()
    assert raw["tokens"]["totalTokens"] == 7 and raw["taskId"] == "t1"


def test_agents_filter_by_status(fs_client: Any) -> None:
    agents = AgentRepository(fs_client)
    agents.create(Agent(id="a", name="A", model="m", status=AgentStatus.IDLE))
    agents.create(Agent(id="b", name="B", model="m", status=AgentStatus.OFFLINE))
    assert {agent.id for agent in agents.find()} == {"a", "b"}
    assert [agent.id for agent in agents.find(status=AgentStatus.OFFLINE)] == ["b"]


def test_api_key_lookup_by_hash(fs_client: Any) -> None:
    keys = ApiKeyRepository(fs_client)
    key = ApiKey(
        id="k1",
        user_id="u1",
        name="ci key",
        scopes=["tasks:read"],
        prefix="aide_ab",
        hash="h" * 64,
        expires_at=WHEN,
    )
    keys.create(key)
    assert keys.find_by_hash("h" * 64) == key
    assert keys.find_by_hash("x" * 64) is None


def test_plans_default_until_seeded(fs_client: Any) -> None:
    plans = PlansRepository(fs_client).load()
    assert plans.default_plan is PlanName.FREE
    assert plans.plans == DEFAULT_PLANS


def test_repository_with_custom_id_field(fs_client: Any) -> None:
    results = ProbeResultRepository(fs_client)
    results.create(ProbeResult(probe_id="p1", message_id="m1", received_at=WHEN))
    assert fs_client.collection("probe_results").document("p1").get().exists
    assert results.get("p1") == ProbeResult(probe_id="p1", message_id="m1", received_at=WHEN)
