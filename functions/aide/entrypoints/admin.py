"""admin: the audit trail and account administration (role `admin` only).

    GET  /audit-logs?actorId=&action=&resourceType=&resourceId=&since=&until=&limit=&cursor=
    PUT  /users/{uid}/role    {"role": "user|developer|admin"}
    PUT  /users/{uid}/status  {"status": "active|inactive|suspended"}
    PUT  /users/{uid}/plan    {"plan": "free|pro|enterprise"}
    POST /users/{uid}/quota/reset

Every operation needs the admin role and, for an API key, an admin scope (`admin:read` for
the audit trail, `admin:write` for changes; never implied by a resource scope or "*"). Any caller
refused here for want of the admin role or scope is recorded (`admin.access_denied`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.access import ADMIN_READ, ADMIN_WRITE
from aide.domain.audit_logs import AuditLogPage, AuditLogQuery
from aide.domain.users import PlanChange, RoleChange, StatusChange, UserEnvelope, UserRole
from aide.entrypoints import errors
from aide.entrypoints.audit import request_actor
from aide.entrypoints.auth import AuthenticatedHandler, Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import parse_body, query_params, validate
from aide.entrypoints.routing import Router
from aide.services import admin

router = Router("admin")


def record_denial(request: Request, principal: Principal) -> None:
    """Records a caller refused for want of the admin role (or scope); the refusal stands."""
    admin.record_denied_admin_access(
        get_firestore(), request_actor(request, principal), request.method, request.path
    )


def admin_only(scope: str) -> Callable[[Callable[..., Response]], AuthenticatedHandler]:
    return authenticated(required_role=UserRole.ADMIN, scope=scope, on_denied=record_denial)


@router.route("GET", "/audit-logs")
@admin_only(ADMIN_READ)
def list_audit_logs(request: Request, principal: Principal) -> Response:
    query = validate(AuditLogQuery, query_params(request))
    try:
        page = admin.list_audit_logs(
            get_firestore(),
            admin.AuditQuery(
                actor_id=query.actor_id,
                action=query.action,
                resource_type=query.resource_type,
                resource_id=query.resource_id,
                since=query.since,
                until=query.until,
                limit=query.limit,
                cursor=query.cursor,
            ),
        )
    except admin.InvalidAuditQuery as error:
        raise errors.BadRequest(str(error)) from error
    return success(AuditLogPage(logs=page.logs, next_cursor=page.next_cursor))


@router.route("PUT", "/users/{uid}/role")
@admin_only(ADMIN_WRITE)
def set_role(request: Request, principal: Principal, uid: str) -> Response:
    body = parse_body(request, RoleChange)
    user = admin.set_role(get_firestore(), uid, body.role, request_actor(request, principal))
    return success(UserEnvelope(user=user))


@router.route("PUT", "/users/{uid}/status")
@admin_only(ADMIN_WRITE)
def set_status(request: Request, principal: Principal, uid: str) -> Response:
    body = parse_body(request, StatusChange)
    user = admin.set_status(get_firestore(), uid, body.status, request_actor(request, principal))
    return success(UserEnvelope(user=user))


@router.route("PUT", "/users/{uid}/plan")
@admin_only(ADMIN_WRITE)
def set_plan(request: Request, principal: Principal, uid: str) -> Response:
    body = parse_body(request, PlanChange)
    user = admin.set_plan(get_firestore(), uid, body.plan, request_actor(request, principal))
    return success(UserEnvelope(user=user))


@router.route("POST", "/users/{uid}/quota/reset")
@admin_only(ADMIN_WRITE)
def reset_quota(request: Request, principal: Principal, uid: str) -> Response:
    user = admin.reset_quota(get_firestore(), uid, request_actor(request, principal))
    return success(UserEnvelope(user=user))


def run_quota_reset() -> None:
    from aide.services.quota_reset import reset_ended_periods

    reset_ended_periods(get_firestore())


def serve(request: Request) -> Response:
    return handle(request, router)
