"""projects: POST /, GET /, GET/PATCH/DELETE /{projectId},
POST /{projectId}/members, DELETE /{projectId}/members/{uid}."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.page_cursor import InvalidCursor
from aide.domain.projects import (
    ProjectCreate,
    ProjectDeleted,
    ProjectEnvelope,
    ProjectListQuery,
    ProjectMemberAdd,
    ProjectUpdate,
)
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.errors import Conflict, ValidationFailed, invalid_cursor
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import parse_body, query_params, validate
from aide.entrypoints.routing import Router
from aide.services import projects

router = Router("projects")


@router.route("POST", "/")
@authenticated(scope="projects:write")
def create_project(request: Request, principal: Principal) -> Response:
    body = parse_body(request, ProjectCreate)
    project = projects.create_project(get_firestore(), principal.uid, body)
    return success(ProjectEnvelope(project=project), status=201)


@router.route("GET", "/")
@authenticated(scope="projects:read")
def list_projects(request: Request, principal: Principal) -> Response:
    query = validate(ProjectListQuery, query_params(request))
    try:
        return success(projects.list_projects(get_firestore(), principal.uid, query))
    except InvalidCursor as error:
        raise invalid_cursor(str(error)) from error


@router.route("GET", "/{project_id}")
@authenticated(scope="projects:read")
def get_project(request: Request, principal: Principal, project_id: str) -> Response:
    project = projects.get_project(get_firestore(), principal.uid, project_id)
    return success(ProjectEnvelope(project=project))


@router.route("PATCH", "/{project_id}")
@authenticated(scope="projects:write")
def update_project(request: Request, principal: Principal, project_id: str) -> Response:
    body = parse_body(request, ProjectUpdate)
    project = projects.update_project(get_firestore(), principal.uid, project_id, body)
    return success(ProjectEnvelope(project=project))


@router.route("DELETE", "/{project_id}")
@authenticated(scope="projects:write")
def delete_project(request: Request, principal: Principal, project_id: str) -> Response:
    projects.delete_project(get_firestore(), principal.uid, project_id)
    return success(ProjectDeleted(id=project_id))


@router.route("POST", "/{project_id}/members")
@authenticated(scope="projects:write")
def add_member(request: Request, principal: Principal, project_id: str) -> Response:
    body = parse_body(request, ProjectMemberAdd)
    try:
        project = projects.add_member(get_firestore(), principal.uid, project_id, body.uid)
    except projects.MembersNeedTeamProject as error:
        raise Conflict(str(error)) from error
    except projects.MembershipRefused as error:
        raise ValidationFailed(
            details=[{"field": error.field, "message": error.message, "type": "membership"}]
        ) from error
    return success(ProjectEnvelope(project=project))


@router.route("DELETE", "/{project_id}/members/{member_uid}")
@authenticated(scope="projects:write")
def remove_member(
    request: Request, principal: Principal, project_id: str, member_uid: str
) -> Response:
    project = projects.remove_member(get_firestore(), principal.uid, project_id, member_uid)
    return success(ProjectEnvelope(project=project))


def serve(request: Request) -> Response:
    return handle(request, router)
