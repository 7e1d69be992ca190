"""Helpers shared by the task service tests: seeding what tasks refer to, and driving tasks
through their run by hand (tests.support.task_runs), standing in for the agent runtime
(these tests run the services on the in-process emulator, where no runtime consumes dispatches)."""

from __future__ import annotations

from typing import Any

from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.projects import ProjectRepository
from aide.adapters.repositories.task_dispatches import TaskDispatchRepository
from aide.adapters.repositories.task_slots import TaskSlotsRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.agents import Agent
from aide.domain.projects import Project, ProjectVisibility
from aide.domain.task_events import TaskEvent
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import Task, TaskCreate
from tests.support.task_runs import claim_task, complete_task, fail_task


def seed_agent(db: Any, agent_id: str = "coder") -> Agent:
    agent = Agent(id=agent_id, name=agent_id.title(), model="scripted-1", capabilities=["code"])
    AgentRepository(db).save(agent)
    return agent


def seed_project(
    db: Any,
    owner: str,
    *,
    project_id: str = "proj-1",
    visibility: ProjectVisibility = ProjectVisibility.PRIVATE,
    members: list[str] | None = None,
) -> Project:
    project = Project(
        id=project_id,
        user_id=owner,
        name="Project one",
        visibility=visibility,
        member_ids=members or [],
    )
    ProjectRepository(db).save(project)
    return project


def task_payload(title: str = "Write tests", **fields: Any) -> TaskCreate:
    return TaskCreate.model_validate(
        {"title": title, "description": "A task description long enough.", **fields}
    )


def load(db: Any, task_id: str) -> Task:
    task = TaskRepository(db).get(task_id)
    assert task is not None, task_id
    return task


def events(db: Any, task_id: str) -> list[TaskEvent]:
    return TaskRepository(db).list_events(task_id)


def dispatch_records(db: Any) -> dict[str, list[str]]:
    """task id → ids of its outbox records (one per move to queued)."""
    found: dict[str, list[str]] = {}
    for snapshot in TaskDispatchRepository(db).collection.stream():
        data = snapshot.to_dict() or {}
        found.setdefault(str(data["taskId"]), []).append(snapshot.id)
    return found


def run_to_completion(db: Any, task_id: str, outputs: dict[str, Any] | None = None) -> None:
    assert load(db, task_id).status is TaskStatus.QUEUED
    claim_task(db, task_id)
    complete_task(db, task_id, outputs=outputs or {"result": task_id})


def run_to_failure(db: Any, task_id: str, error: str = "boom") -> None:
    claim_task(db, task_id)
    fail_task(db, task_id, error=error)


def slots_ref(db: Any, pool_id: str) -> Any:
    """A run-slot pool's document: a user's (the user id) or an agent's (agent_slots_id)."""
    return TaskSlotsRepository(db).ref(pool_id)
