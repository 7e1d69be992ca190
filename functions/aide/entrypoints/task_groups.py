"""task_groups: POST /, GET /, GET /{groupId}, POST /{groupId}/cancel."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.task_groups import TaskGroupCreate, TaskGroupListQuery, TaskGroupView
from aide.domain.tasks import TaskCancel
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
from aide.services import task_groups

router = Router("task_groups")


@router.route("POST", "/")
@authenticated(scope="task_groups:write")
def create_task_group(request: Request, principal: Principal) -> Response:
    body = parse_body(request, TaskGroupCreate)
    with task_errors():
        created = task_groups.create_task_group(
            get_firestore(), principal.uid, body, idempotency_key=idempotency_key(request)
        )
    return success(
        TaskGroupView(task_group=created.group),
        created.status_code,
        replay_headers(created.replayed),
    )


@router.route("GET", "/")
@authenticated(scope="task_groups:read")
def list_task_groups(request: Request, principal: Principal) -> Response:
    query = validate(TaskGroupListQuery, query_params(request))
    with task_errors():
        return success(task_groups.list_task_groups(get_firestore(), principal.uid, query))


@router.route("GET", "/{group_id}")
@authenticated(scope="task_groups:read")
def get_task_group(request: Request, principal: Principal, group_id: str) -> Response:
    with task_errors():
        group = task_groups.get_task_group(get_firestore(), principal.uid, group_id)
    return success(TaskGroupView(task_group=group))


@router.route("POST", "/{group_id}/cancel")
@authenticated(scope="task_groups:write")
def cancel_task_group(request: Request, principal: Principal, group_id: str) -> Response:
    body = validate(TaskCancel, optional_body(request))
    with task_errors():
        group, _ = task_groups.cancel_task_group(
            get_firestore(), principal.uid, group_id, body.reason
        )
    return success(TaskGroupView(task_group=group))


@router.route("POST", "/{group_id}/retry")
@authenticated(scope="task_groups:write")
def retry_task_group(request: Request, principal: Principal, group_id: str) -> Response:
    with task_errors():
        group, _ = task_groups.retry_task_group(get_firestore(), principal.uid, group_id)
    return success(TaskGroupView(task_group=group))


def serve(request: Request) -> Response:
    return handle(request, router)
