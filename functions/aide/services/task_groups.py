"""Task groups (the seed's createTaskGroup): tasks that name each other by client-local refs.

Creation validates the whole graph first (task_graph.validate_task_graph: unknown, duplicate and
self refs, cycles), then writes every task, the group and the dispatches of the tasks without
dependencies in ONE transaction — all or nothing, up to 1,000 tasks. From then on the group
follows its tasks through the counters each status change updates (services.task_transitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.unit_of_work import UnitOfWork
from aide.domain import collections
from aide.domain.page_cursor import listing_fingerprint, read_page
from aide.domain.task_graph import GroupCounts, validate_task_graph
from aide.domain.task_groups import (
    TaskGroup,
    TaskGroupCreate,
    TaskGroupList,
    TaskGroupListQuery,
    TaskGroupMember,
)
from aide.domain.task_lifecycle import TaskStatus, TransitionReason, is_unfinished
from aide.domain.tasks import Task
from aide.services import audit_trail
from aide.services.idempotent_requests import run_idempotent
from aide.services.projects import readable_scope
from aide.services.task_transitions import ChangeResult, StatusChanges, apply_status_changes
from aide.services.tasks import (
    can_read,
    check_agents,
    check_project,
    owner_plan,
    plan_retry,
    write_new_task,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client

CREATE_SCOPE: Final = "task_groups.create"


class TaskGroupNotFound(LookupError):
    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        super().__init__(f"task group '{group_id}' not found")


@dataclass(frozen=True)
class CreatedTaskGroup:
    group: TaskGroup
    status_code: int
    replayed: bool


def create_task_group(
    db: Client, user_id: str, payload: TaskGroupCreate, *, idempotency_key: str | None = None
) -> CreatedTaskGroup:
    """Validate the graph (TaskGraphError → 400), then write it atomically. Tasks without
    dependencies are created `queued` with their dispatch; the others `pending`."""
    graph = validate_task_graph(payload.tasks)

    def create(uow: UnitOfWork, now: datetime) -> tuple[int, dict[str, Any]]:
        check_project(uow, user_id, payload.project_id, field="projectId")
        check_agents(
            uow,
            [
                (f"tasks.{index}.agentId", spec.agent_id)
                for index, spec in enumerate(payload.tasks)
                if spec.agent_id is not None
            ],
        )
        group_id = uow.task_groups.new_id()
        ids = {spec.ref: uow.tasks.new_id() for spec in payload.tasks}
        created: list[Task] = []
        for spec in payload.tasks:
            dependencies = graph.dependencies[spec.ref]
            ready = not dependencies
            created.append(
                Task(
                    id=ids[spec.ref],
                    user_id=user_id,
                    project_id=payload.project_id,
                    group_id=group_id,
                    title=spec.title,
                    description=spec.description,
                    priority=spec.priority,
                    agent_id=spec.agent_id,
                    inputs=spec.inputs or {},
                    dependencies=[ids[ref] for ref in dependencies],
                    dependents=[ids[ref] for ref in graph.dependents[spec.ref]],
                    unmet_dependencies=len(dependencies),
                    status=TaskStatus.QUEUED if ready else TaskStatus.PENDING,
                    queued_at=now if ready else None,
                    created_at=now,
                    updated_at=now,
                )
            )
        counts = GroupCounts.from_statuses(task.status for task in created)
        group = TaskGroup(
            id=group_id,
            user_id=user_id,
            project_id=payload.project_id,
            name=payload.name,
            status=counts.status(),
            progress=counts.progress(),
            counts=counts,
            tasks=[TaskGroupMember(ref=spec.ref, id=ids[spec.ref]) for spec in payload.tasks],
            created_at=now,
            updated_at=now,
        )
        stamp = audit_trail.audited_stamp(
            uow, collections.TASK_GROUPS, group.id, None, group.to_document(), at=now
        )
        uow.task_groups.create(group, extra=stamp)
        for task in created:
            write_new_task(uow, task, now)
        return 201, {"taskGroup": group.to_json_dict()}

    outcome = run_idempotent(
        db,
        user_id=user_id,
        scope=CREATE_SCOPE,
        key=idempotency_key,
        body=payload.to_json_dict(),
        create=create,
    )
    return CreatedTaskGroup(
        group=TaskGroup.model_validate(outcome.body["taskGroup"]),
        status_code=outcome.status_code,
        replayed=outcome.replayed,
    )


class NothingToRetry(Exception):
    """The group has no failed task (409)."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        super().__init__(f"task group '{group_id}' has no failed task to retry")

    @property
    def message(self) -> str:
        return str(self)


def get_task_group(db: Client, user_id: str, group_id: str) -> TaskGroup:
    # The router already answered 404 for an id Firestore refuses (aide.entrypoints.routing).
    group = TaskGroupRepository(db).get(group_id)
    if group is None or not can_read(db, user_id, group.user_id, group.project_id):
        raise TaskGroupNotFound(group_id)
    return group


def list_task_groups(db: Client, user_id: str, query: TaskGroupListQuery) -> TaskGroupList:
    """A page of the groups the caller may read, newest first: their own, or with `projectId`
    of a project they can read every group of that project (InvalidCursor for a cursor made for
    another caller or other filters)."""
    filters = readable_scope(db, user_id, query.project_id)
    if query.status is not None:
        filters["status"] = query.status.value
    groups = TaskGroupRepository(db)
    page, next_cursor = read_page(
        lambda n, after: groups.list_page(filters, limit=n, after=after),
        lambda group: (group.created_at, group.id),
        limit=query.limit,
        cursor=query.cursor,
        fingerprint=listing_fingerprint(user_id, {"taskGroups": filters}),
    )
    return TaskGroupList(task_groups=page, next_cursor=next_cursor)


def cancel_task_group(
    db: Client, user_id: str, group_id: str, reason: str | None = None
) -> tuple[TaskGroup, ChangeResult]:
    """Cancel every unfinished task of the caller's group (and what depends on them outside the
    group), in one transaction. A group with nothing left to cancel is returned unchanged."""
    message = reason or "task group cancelled by the owner"

    def plan(changes: StatusChanges) -> None:
        group = changes.uow.task_groups.get(group_id)
        if group is None or group.user_id != user_id:
            raise TaskGroupNotFound(group_id)
        members = changes.load(member.id for member in group.tasks)
        for task in members:
            if is_unfinished(task.status) and task.id not in changes.planned:
                changes.plan(
                    task,
                    TaskStatus.CANCELLED,
                    TransitionReason.GROUP_CANCELLED,
                    message=message,
                    fields={"cancelReason": message},
                )
        for task_id in list(changes.planned):
            changes.follow_up(task_id)

    result = apply_status_changes(db, plan)
    return get_task_group(db, user_id, group_id), result


def retry_task_group(db: Client, user_id: str, group_id: str) -> tuple[TaskGroup, ChangeResult]:
    """Retry every failed task of the caller's group, each reviving the dependents its failure
    cancelled, in one transaction (each retry counts against the plan's bound per task). A
    group with no failed task → NothingToRetry."""

    def plan(changes: StatusChanges) -> None:
        group = changes.uow.task_groups.get(group_id)
        if group is None or group.user_id != user_id:
            raise TaskGroupNotFound(group_id)
        members = changes.load(member.id for member in group.tasks)
        user_plan = owner_plan(changes.uow, user_id)
        failed = [task for task in members if task.status is TaskStatus.FAILED]
        if not failed:
            raise NothingToRetry(group_id)
        for task in failed:
            plan_retry(changes, task, user_plan)

    result = apply_status_changes(db, plan)
    return get_task_group(db, user_id, group_id), result
