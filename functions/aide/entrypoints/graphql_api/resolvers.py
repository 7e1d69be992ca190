"""Resolvers: each calls the service the REST handler of the same operation calls (no business
logic here); joins go through the request's loaders. Each is bound through
aide.entrypoints.graphql_api.schema.guarded: its API-key scope checked first, refusals mapped
to GraphQL errors (aide.entrypoints.graphql_api.errors)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from aide.domain.document_ids import is_usable_id
from aide.domain.projects import ProjectCreate, ProjectListQuery, ProjectUpdate
from aide.domain.task_groups import TaskGroup, TaskGroupCreate
from aide.domain.tasks import Task, TaskCancel, TaskCreate, TaskListQuery
from aide.entrypoints.errors import NotFound
from aide.entrypoints.graphql_api.context import context_of
from aide.entrypoints.graphql_api.types_from_models import input_values
from aide.entrypoints.http_request import validate
from aide.services import agents, graph_reads, projects, task_groups, tasks

Resolver = Any


def _id(value: str) -> str:
    # The REST router answers 404 for an id Firestore cannot store; so does the gateway.
    if not is_usable_id(value):
        raise NotFound()
    return value


def _input(model: type[BaseModel], given: dict[str, Any]) -> Any:
    return validate(model, input_values(model, given))


def _page_info(next_cursor: str | None) -> dict[str, Any]:
    return {"hasNextPage": next_cursor is not None, "endCursor": next_cursor}


# --- Query ---------------------------------------------------------------------------------


def me(_: Any, info: Any) -> Any:
    return context_of(info).principal.user


def list_agents(_: Any, info: Any, status: Any = None) -> Any:
    return agents.list_agents(context_of(info).db, status)


def get_agent(_: Any, info: Any, id: str) -> Any:
    return agents.get_agent(context_of(info).db, _id(id))


def list_tasks(
    _: Any, info: Any, filter: dict[str, Any] | None = None, first: int = 20, after: Any = None
) -> dict[str, Any]:
    ctx = context_of(info)
    query = _input(TaskListQuery, {**(filter or {}), "limit": first, "cursor": after})
    page = tasks.list_tasks(ctx.db, ctx.uid, query)
    return {
        "nodes": ctx.loaders.saw_tasks(page.tasks),
        "pageInfo": _page_info(page.next_cursor),
    }


def get_task(_: Any, info: Any, id: str) -> Any:
    ctx = context_of(info)
    return ctx.loaders.saw_tasks([tasks.get_task(ctx.db, ctx.uid, _id(id))])[0]


def get_task_group(_: Any, info: Any, id: str) -> Any:
    ctx = context_of(info)
    return task_groups.get_task_group(ctx.db, ctx.uid, _id(id))


def list_task_groups(_: Any, info: Any, first: int = 20) -> list[TaskGroup]:
    ctx = context_of(info)
    return graph_reads.list_task_groups(ctx.db, ctx.uid, limit=first)


def list_projects(_: Any, info: Any, first: int = 20, after: Any = None) -> dict[str, Any]:
    ctx = context_of(info)
    page = projects.list_projects(
        ctx.db, ctx.uid, _input(ProjectListQuery, {"limit": first, "cursor": after})
    )
    return {"nodes": page.projects, "pageInfo": _page_info(page.next_cursor)}


def get_project(_: Any, info: Any, id: str) -> Any:
    ctx = context_of(info)
    return projects.get_project(ctx.db, ctx.uid, _id(id))


def usage(_: Any, info: Any) -> Any:
    from aide.services.usage_report import usage_report

    ctx = context_of(info)
    return usage_report(ctx.db, ctx.principal.user)


# --- Task joins ------------------------------------------------------------------------------


def task_agent(task: Task, info: Any) -> Any:
    if task.agent_id is None:
        return None
    return context_of(info).loaders.agents.load(task.agent_id)


def task_events(task: Task, info: Any) -> Any:
    return graph_reads.events_of(context_of(info).db, task)


def task_dependencies(task: Task, info: Any) -> list[Task]:
    loaders = context_of(info).loaders
    return loaders.saw_tasks(loaders.tasks.load_many(list(task.dependencies)))


def task_subtasks(task: Task, info: Any) -> list[Task]:
    loaders = context_of(info).loaders
    return loaders.saw_tasks(loaders.tasks.load_many(list(task.subtask_ids)))


# --- Mutation --------------------------------------------------------------------------------


def create_task(
    _: Any, info: Any, input: dict[str, Any], idempotencyKey: str | None = None
) -> Task:
    ctx = context_of(info)
    created = tasks.create_task(
        ctx.db, ctx.uid, _input(TaskCreate, input), idempotency_key=idempotencyKey
    )
    return created.task


def create_task_group(
    _: Any, info: Any, input: dict[str, Any], idempotencyKey: str | None = None
) -> TaskGroup:
    ctx = context_of(info)
    created = task_groups.create_task_group(
        ctx.db, ctx.uid, _input(TaskGroupCreate, input), idempotency_key=idempotencyKey
    )
    return created.group


def cancel_task(_: Any, info: Any, id: str, reason: str | None = None) -> Any:
    ctx = context_of(info)
    body = _input(TaskCancel, {"reason": reason})
    return tasks.cancel_task(ctx.db, ctx.uid, _id(id), body.reason).task


def retry_task(_: Any, info: Any, id: str) -> Any:
    ctx = context_of(info)
    return tasks.retry_task(ctx.db, ctx.uid, _id(id)).task


def cancel_task_group(_: Any, info: Any, id: str, reason: str | None = None) -> TaskGroup:
    ctx = context_of(info)
    body = _input(TaskCancel, {"reason": reason})
    group, _result = task_groups.cancel_task_group(ctx.db, ctx.uid, _id(id), body.reason)
    return group


def create_project(_: Any, info: Any, input: dict[str, Any]) -> Any:
    ctx = context_of(info)
    return projects.create_project(ctx.db, ctx.uid, _input(ProjectCreate, input))


def update_project(_: Any, info: Any, id: str, input: dict[str, Any]) -> Any:
    ctx = context_of(info)
    return projects.update_project(ctx.db, ctx.uid, _id(id), _input(ProjectUpdate, input))


def delete_project(_: Any, info: Any, id: str) -> str:
    ctx = context_of(info)
    projects.delete_project(ctx.db, ctx.uid, _id(id))
    return id


def add_project_member(_: Any, info: Any, id: str, uid: str) -> Any:
    ctx = context_of(info)
    return projects.add_member(ctx.db, ctx.uid, _id(id), uid)


def remove_project_member(_: Any, info: Any, id: str, uid: str) -> Any:
    ctx = context_of(info)
    return projects.remove_member(ctx.db, ctx.uid, _id(id), _id(uid))


QUERY: dict[str, Resolver] = {
    "me": me,
    "agents": list_agents,
    "agent": get_agent,
    "tasks": list_tasks,
    "task": get_task,
    "taskGroup": get_task_group,
    "taskGroups": list_task_groups,
    "projects": list_projects,
    "project": get_project,
    "usage": usage,
}
TASK: dict[str, Resolver] = {
    "agent": task_agent,
    "events": task_events,
    "dependencyTasks": task_dependencies,
    "subtasks": task_subtasks,
}
MUTATION: dict[str, Resolver] = {
    "createTask": create_task,
    "createTaskGroup": create_task_group,
    "cancelTask": cancel_task,
    "retryTask": retry_task,
    "cancelTaskGroup": cancel_task_group,
    "createProject": create_project,
    "updateProject": update_project,
    "deleteProject": delete_project,
    "addProjectMember": add_project_member,
    "removeProjectMember": remove_project_member,
}
