"""Reads the GraphQL gateway joins documents with, in batches (one round trip per batch), with
the same visibility rules as the REST reads: a task another user cannot read is left out
(aide.services.tasks.can_read), so a join never reveals another tenant's task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aide.adapters.repositories import AgentRepository
from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.agents import Agent
from aide.domain.task_events import TaskEvent
from aide.domain.task_groups import TaskGroup
from aide.domain.tasks import Task
from aide.services.tasks import can_read

if TYPE_CHECKING:
    from google.cloud.firestore import Client

MAX_GROUPS_LISTED: Final = 100
EVENTS_LISTED: Final = 500
"""A task's `events` field: the whole timeline of any run the runtime bounds (max steps)."""


def agents_by_id(db: Client, agent_ids: list[str]) -> dict[str, Agent]:
    """The agents that exist among `agent_ids` (agents are the platform's, readable by all)."""
    from aide.adapters.read_cache import agent_cache

    return agent_cache().get_many(agent_ids, lambda ids: AgentRepository(db).get_many(ids))


def readable_tasks_by_id(db: Client, user_id: str, task_ids: list[str]) -> dict[str, Task]:
    """The tasks among `task_ids` that exist and `user_id` may read."""
    found = TaskRepository(db).get_many(task_ids)
    return {task.id: task for task in found if can_read(db, user_id, task.user_id, task.project_id)}


def events_of(db: Client, task: Task, *, limit: int = EVENTS_LISTED) -> list[TaskEvent]:
    """The events of a task the caller was already allowed to read, oldest first."""
    return TaskRepository(db).list_events(task.id, limit=limit)


def list_task_groups(db: Client, user_id: str, *, limit: int) -> list[TaskGroup]:
    """The caller's own task groups, newest first."""
    limit = max(0, min(limit, MAX_GROUPS_LISTED))
    if limit == 0:
        return []
    return TaskGroupRepository(db).newest_page([("userId", "==", user_id)], limit=limit)
