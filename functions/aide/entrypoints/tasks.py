"""tasks: POST /, GET /, GET /{taskId}, GET /{taskId}/events, POST /{taskId}/cancel,
POST /{taskId}/retry, and the agent runtime's GET /{taskId}/context, /graph, /output."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.task_events import TaskEventListQuery
from aide.domain.tasks import TaskCancel, TaskCreate, TaskListQuery, TaskView
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import (
    idempotency_key,
    optional_body,
    parse_body,
    query_params,
    replay_headers,
    validate,
)
from aide.entrypoints.routing import Router
from aide.entrypoints.task_errors import task_errors
from aide.services import tasks

router = Router("tasks")


@router.route("POST", "/")
@authenticated(scope="tasks:write")
def create_task(request: Request, principal: Principal) -> Response:
    body = parse_body(request, TaskCreate)
    with task_errors():
        created = tasks.create_task(
            get_firestore(), principal.uid, body, idempotency_key=idempotency_key(request)
        )
    return success(
        TaskView(task=created.task), created.status_code, replay_headers(created.replayed)
    )


@router.route("GET", "/")
@authenticated(scope="tasks:read")
def list_tasks(request: Request, principal: Principal) -> Response:
    query = validate(TaskListQuery, query_params(request))
    with task_errors():
        return success(tasks.list_tasks(get_firestore(), principal.uid, query))


@router.route("GET", "/{task_id}")
@authenticated(scope="tasks:read")
def get_task(request: Request, principal: Principal, task_id: str) -> Response:
    with task_errors():
        return success(TaskView(task=tasks.get_task(get_firestore(), principal.uid, task_id)))


@router.route("GET", "/{task_id}/events")
@authenticated(scope="tasks:read")
def list_events(request: Request, principal: Principal, task_id: str) -> Response:
    query = validate(TaskEventListQuery, query_params(request))
    with task_errors():
        return success(tasks.list_task_events(get_firestore(), principal.uid, task_id, query))


@router.route("POST", "/{task_id}/cancel")
@authenticated(scope="tasks:write")
def cancel_task(request: Request, principal: Principal, task_id: str) -> Response:
    body = validate(TaskCancel, optional_body(request))
    with task_errors():
        result = tasks.cancel_task(get_firestore(), principal.uid, task_id, body.reason)
    assert result.task is not None
    return success(TaskView(task=result.task))


@router.route("POST", "/{task_id}/retry")
@authenticated(scope="tasks:write")
def retry_task(request: Request, principal: Principal, task_id: str) -> Response:
    with task_errors():
        result = tasks.retry_task(get_firestore(), principal.uid, task_id)
    assert result.task is not None
    return success(TaskView(task=result.task))


@router.route("GET", "/{task_id}/context")
@authenticated(scope="tasks:read")
def get_task_context(request: Request, principal: Principal, task_id: str) -> Response:
    from aide.domain.task_context import TaskContextView
    from aide.services.task_context import get_context_for_task

    db = get_firestore()
    with task_errors():
        task = tasks.get_task(db, principal.uid, task_id)
    return success(TaskContextView(context=get_context_for_task(db, task)))


@router.route("GET", "/{task_id}/graph")
@authenticated(scope="tasks:read")
def get_task_graph(request: Request, principal: Principal, task_id: str) -> Response:
    from aide.domain.execution_graph import TaskGraphView
    from aide.domain.tasks import ExecutionGraph

    with task_errors():
        task = tasks.get_task(get_firestore(), principal.uid, task_id)
    return success(
        TaskGraphView(
            task_id=task.id,
            status=str(task.status),
            progress=task.progress,
            execution_graph=task.execution_graph or ExecutionGraph(),
        )
    )


@router.route("GET", "/{task_id}/output")
@authenticated(scope="tasks:read")
def get_task_output(request: Request, principal: Principal, task_id: str) -> Response:
    import json

    from aide.adapters.output_blobs import CloudStorageBlobs
    from aide.domain.execution_graph import TaskOutputView
    from aide.services.output_storage import read_stored_outputs

    with task_errors():
        task = tasks.get_task(get_firestore(), principal.uid, task_id)
    stored = read_stored_outputs(task, CloudStorageBlobs.default())
    if stored is None:
        return success(TaskOutputView(task_id=task.id, outputs=task.outputs))
    return success(TaskOutputView(task_id=task.id, outputs=json.loads(stored), stored=True))


def serve(request: Request) -> Response:
    return handle(request, router)
