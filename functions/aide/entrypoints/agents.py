"""agents: GET / (filter ?status=), GET /{agentId}, POST / (the seed's create-and-start task)."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.agents import (
    AgentEnvelope,
    AgentList,
    AgentListQuery,
    AgentStatus,
    AgentTaskRequest,
)
from aide.domain.tasks import TaskView
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import (
    idempotency_key,
    parse_body,
    query_params,
    replay_headers,
    validate,
)
from aide.entrypoints.routing import Router
from aide.entrypoints.task_errors import task_errors
from aide.services import agents, tasks

router = Router("agents")


def _status_filter(request: Request) -> AgentStatus | None:
    raw = query_params(request).get("status")
    return validate(AgentListQuery, {} if raw is None else {"status": raw}).status


@router.route("GET", "/")
@authenticated(scope="agents:read")
def list_agents(request: Request, principal: Principal) -> Response:
    found = agents.list_agents(get_firestore(), _status_filter(request))
    return success(AgentList(agents=found))


@router.route("GET", "/{agent_id}")
@authenticated(scope="agents:read")
def get_agent(request: Request, principal: Principal, agent_id: str) -> Response:
    return success(AgentEnvelope(agent=agents.get_agent(get_firestore(), agent_id)))


@router.route("POST", "/")
@authenticated(scope="tasks:write")
def create_agent_task(request: Request, principal: Principal) -> Response:
    """The seed's "create and start a task": the task is created through the tasks service and
    dispatched at once. The seed sends no title, so one is derived from the description
    (aide.domain.agents.title_from_description). 200, as the seed expects, not 201."""
    body = parse_body(request, AgentTaskRequest)
    with task_errors():
        created = tasks.create_task(
            get_firestore(),
            principal.uid,
            body.task.to_task_create(),
            idempotency_key=idempotency_key(request),
        )
    headers = replay_headers(created.replayed)
    return success(TaskView(task=created.task), status=200, headers=headers)


def serve(request: Request) -> Response:
    return handle(request, router)
