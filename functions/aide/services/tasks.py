"""Tasks of one user: create (seed validation, optional dependencies on existing tasks), list with
filters and cursor pagination, get, cancel (cascading) and retry.

Who may see a task: its owner, and whoever may read the project it belongs to (its owner, the
members of a team project, anyone signed in for a public one). Only the owner changes it.
Anything else is reported as not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from google.cloud.firestore import ArrayUnion

from aide.adapters.repositories.projects import ProjectRepository
from aide.adapters.repositories.tasks import TaskFilters, TaskRepository
from aide.adapters.unit_of_work import UnitOfWork
from aide.domain import collections
from aide.domain.document_ids import is_usable_id
from aide.domain.execution_graph import graph_with_task_status
from aide.domain.page_cursor import InvalidCursor, listing_fingerprint, read_page
from aide.domain.projects import Project
from aide.domain.system_config import Plan
from aide.domain.task_events import StreamEventKind, TaskEvent, TaskEventList, TaskEventListQuery
from aide.domain.task_graph import DependencyState, evaluate_dependencies
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.tasks import (
    Task,
    TaskCreate,
    TaskList,
    TaskListQuery,
    TaskView,
)
from aide.services import audit_trail
from aide.services.idempotent_requests import run_idempotent
from aide.services.projects import readable_scope
from aide.services.task_transitions import (
    ChangeResult,
    StatusChanges,
    TaskNotFound,
    apply_status_changes,
    change_status,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client

__all__ = [
    "CreatedTask",
    "DependencyBlocked",
    "InvalidCursor",
    "InvalidReference",
    "RetryLimitReached",
    "TaskNotFound",
    "cancel_task",
    "create_task",
    "get_task",
    "list_task_events",
    "list_tasks",
    "plan_retry",
    "retry_task",
]

CREATE_SCOPE: Final = "tasks.create"


class InvalidReference(ValueError):
    """A body field names something that does not exist or is not the caller's (400)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    @property
    def details(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": self.message, "type": "invalid_reference"}]


class DependencyBlocked(Exception):
    """A dependency already failed or was cancelled: the task could never run (409)."""

    def __init__(self, dependency_id: str, message: str) -> None:
        self.dependency_id = dependency_id
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class CreatedTask:
    task: Task
    status_code: int
    replayed: bool


# --- references shared with task groups -------------------------------------------------------


def check_project(
    uow: UnitOfWork, user_id: str, project_id: str | None, *, field: str
) -> Project | None:
    """The project tasks are created in: the caller must be its owner or a team member (a public
    project is read-only to everybody else, and looks absent to them here)."""
    if project_id is None:
        return None
    project = uow.projects.get(project_id)
    if project is None or not project.can_read(user_id):
        raise InvalidReference(field, f"project '{project_id}' not found")
    if not project.can_contribute(user_id):
        raise InvalidReference(
            field, f"project '{project_id}' is read-only to you: only its owner and members add"
        )
    return project


def check_agents(uow: UnitOfWork, agent_ids: Iterable[tuple[str, str]]) -> None:
    """Every (field, agent id) names a registered agent."""
    wanted = list(agent_ids)
    if not wanted:
        return
    ids = sorted({agent_id for _, agent_id in wanted})
    found = {a.id for a in uow.agents.get_many(ids)}
    for field, agent_id in wanted:
        if agent_id not in found:
            raise InvalidReference(field, f"agent '{agent_id}' not found")


def queued_event(task: Task, event_id: str, now: datetime, message: str) -> TaskEvent:
    """The event of a task that is created already dispatched (pending → queued at once)."""
    return TaskEvent(
        id=event_id,
        task_id=task.id,
        kind=StreamEventKind.QUEUED,
        message=message,
        timestamp=now,
        from_status=TaskStatus.PENDING,
        to_status=TaskStatus.QUEUED,
        data={"reason": TransitionReason.DISPATCH.value},
    )


def write_new_task(uow: UnitOfWork, task: Task, now: datetime) -> None:
    """The task document (stamped for the audit trail), and when it is created `queued`, its
    event and outbox record."""
    stamp = audit_trail.audited_stamp(
        uow, collections.TASKS, task.id, None, task.to_document(), at=now
    )
    uow.tasks.create(task, extra=stamp)
    if task.status is TaskStatus.QUEUED:
        event_id = uow.tasks.new_event_id(task.id)
        uow.tasks.add_event(queued_event(task, event_id, now, "no unmet dependencies"))
        uow.task_dispatches.record(task, event_id, now)


# --- create -----------------------------------------------------------------------------------


def create_task(
    db: Client, user_id: str, payload: TaskCreate, *, idempotency_key: str | None = None
) -> CreatedTask:
    """Create a task, dispatched at once unless it waits for dependencies (existing tasks of the
    same user). Atomic with the dependencies' reverse edges and the idempotency record."""

    def create(uow: UnitOfWork, now: datetime) -> tuple[int, dict[str, Any]]:
        check_project(uow, user_id, payload.project_id, field="projectId")
        if payload.agent_id is not None:
            check_agents(uow, [("agentId", payload.agent_id)])
        dependency_ids = list(payload.dependencies or [])
        dependencies = _load_dependencies(uow, user_id, dependency_ids)
        verdict = evaluate_dependencies({d.id: d.status for d in dependencies})
        if verdict.state is DependencyState.BLOCKED:
            assert verdict.blocking_dependency is not None and verdict.message is not None
            raise DependencyBlocked(verdict.blocking_dependency, verdict.message)
        unmet = [d for d in dependencies if d.status is not TaskStatus.COMPLETED]
        task = Task(
            id=uow.tasks.new_id(),
            user_id=user_id,
            project_id=payload.project_id,
            title=payload.title,
            description=payload.description,
            priority=payload.priority,
            agent_id=payload.agent_id,
            inputs=payload.inputs or {},
            dependencies=dependency_ids,
            unmet_dependencies=len(unmet),
            status=TaskStatus.PENDING if unmet else TaskStatus.QUEUED,
            queued_at=None if unmet else now,
            created_at=now,
            updated_at=now,
        )
        write_new_task(uow, task, now)
        for dependency in unmet:
            uow.tasks.update(dependency.id, {"dependents": ArrayUnion([task.id]), "updatedAt": now})
        return 201, TaskView(task=task).to_json_dict()

    outcome = run_idempotent(
        db,
        user_id=user_id,
        scope=CREATE_SCOPE,
        key=idempotency_key,
        body=payload.to_json_dict(),
        create=create,
    )
    return CreatedTask(
        task=TaskView.model_validate(outcome.body).task,
        status_code=outcome.status_code,
        replayed=outcome.replayed,
    )


def _load_dependencies(uow: UnitOfWork, user_id: str, dependency_ids: list[str]) -> list[Task]:
    seen: set[str] = set()
    for index, dependency_id in enumerate(dependency_ids):
        if dependency_id in seen:
            raise InvalidReference(
                f"dependencies.{index}", f"task '{dependency_id}' is listed more than once"
            )
        seen.add(dependency_id)
    found = {
        task.id: task for task in uow.tasks.get_many(dependency_ids) if task.user_id == user_id
    }
    for index, dependency_id in enumerate(dependency_ids):
        if dependency_id not in found:
            raise InvalidReference(f"dependencies.{index}", f"task '{dependency_id}' not found")
    return [found[dependency_id] for dependency_id in dependency_ids]


# --- read -------------------------------------------------------------------------------------


def can_read(db: Client, user_id: str, owner_id: str, project_id: str | None) -> bool:
    """Whether `user_id` may read what `owner_id` created in `project_id` (tasks, groups)."""
    if owner_id == user_id:
        return True
    if project_id is None:
        return False
    project = ProjectRepository(db).get(project_id)
    return project is not None and project.can_read(user_id)


def get_task(db: Client, user_id: str, task_id: str) -> Task:
    # The router already answered 404 for an id Firestore refuses (aide.entrypoints.routing).
    task = TaskRepository(db).get(task_id)
    if task is None or not can_read(db, user_id, task.user_id, task.project_id):
        raise TaskNotFound(task_id)
    return task


def list_tasks(db: Client, user_id: str, query: TaskListQuery) -> TaskList:
    """A page of the tasks the caller may read, newest first. With `projectId` of a project the
    caller can read (owner, or member of a team project): every task of that project; otherwise
    only the caller's own tasks."""
    filters: TaskFilters = readable_scope(db, user_id, query.project_id)
    if query.status is not None:
        filters["status"] = query.status.value
    if query.priority is not None:
        filters["priority"] = query.priority.value
    if query.agent_id is not None:
        filters["agentId"] = query.agent_id

    tasks = TaskRepository(db)
    page, next_cursor = read_page(
        lambda n, after: tasks.list_page(filters, limit=n, after=after),
        lambda task: (task.created_at, task.id),
        limit=query.limit,
        cursor=query.cursor,
        fingerprint=listing_fingerprint(user_id, filters),
    )
    return TaskList(tasks=page, next_cursor=next_cursor)


def list_task_events(
    db: Client, user_id: str, task_id: str, query: TaskEventListQuery
) -> TaskEventList:
    """A page of the events of a task the caller may read, oldest first; the cursor is bound to
    the caller and the task (TaskNotFound, InvalidCursor)."""
    task = get_task(db, user_id, task_id)
    tasks = TaskRepository(db)
    page, next_cursor = read_page(
        lambda n, after: tasks.events_page(task.id, limit=n, after=after),
        lambda event: (event.timestamp, event.id),
        limit=query.limit,
        cursor=query.cursor,
        fingerprint=listing_fingerprint(user_id, {"taskEvents": task.id}),
    )
    return TaskEventList(events=page, next_cursor=next_cursor)


# --- changes ----------------------------------------------------------------------------------


def cancel_task(db: Client, user_id: str, task_id: str, reason: str | None = None) -> ChangeResult:
    """Cancel the caller's task and, transitively, its unfinished subtasks and dependents.
    Cancelling a cancelled task changes nothing; a completed or failed one → IllegalTransition."""
    message = reason or "cancelled by the owner"
    return change_status(
        db,
        task_id,
        TaskStatus.CANCELLED,
        TransitionReason.USER_CANCEL,
        owner_id=user_id,
        message=message,
        fields={"cancelReason": message},
    )


class RetryLimitReached(Exception):
    """The task was retried as often as the owner's plan allows (409)."""

    def __init__(self, task_id: str, limit: int, plan: str) -> None:
        self.task_id = task_id
        self.limit = limit
        self.plan = plan
        super().__init__(
            f"task '{task_id}' was already retried {limit} times, the most the {plan} plan allows"
        )

    @property
    def message(self) -> str:
        return str(self)


def plan_retry(changes: StatusChanges, task: Task, user_plan: Plan) -> None:
    """Plan the retry of the failed `task` (IllegalTransition if it is not failed,
    RetryLimitReached past the plan's bound) with the revival of the dependents its failure
    cancelled."""
    if task.status is TaskStatus.FAILED and task.retries >= user_plan.manual_retries_per_task:
        raise RetryLimitReached(task.id, user_plan.manual_retries_per_task, user_plan.name)
    fields: dict[str, Any] = {}
    if task.execution_graph is not None:
        graph = graph_with_task_status(task.id, task.execution_graph, "queued")
        fields["executionGraph"] = graph.to_document()
    changes.plan(
        task,
        TaskStatus.QUEUED,
        TransitionReason.RETRY,
        message="retried by the owner",
        fields=fields,
    )
    changes.revive_dependents(task)


def owner_plan(uow: UnitOfWork, user_id: str) -> Plan:
    user = uow.users.get(user_id)
    plans = uow.plans.load()
    return plans.plan(user.subscription.plan if user is not None else str(plans.default_plan))


def retry_task(db: Client, user_id: str, task_id: str) -> ChangeResult:
    """Queue a failed task again with a fresh attempt budget (anything else → IllegalTransition),
    at most the plan's `manualRetriesPerTask` times (then RetryLimitReached). `attempts` keeps
    counting; the execution graph shows the task queued, its steps kept for the next attempt.
    The dependents its failure cancelled are revived (pending again, their group's status and
    progress following); tasks cancelled otherwise stay cancelled."""
    if not is_usable_id(task_id):
        raise TaskNotFound(task_id)

    def plan(changes: StatusChanges) -> Task:
        found = changes.load([task_id])
        if not found or found[0].user_id != user_id:
            raise TaskNotFound(task_id)
        plan_retry(changes, found[0], owner_plan(changes.uow, user_id))
        return found[0]

    return apply_status_changes(db, plan)
