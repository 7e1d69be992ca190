"""users: GET/PATCH /me (the caller's account), GET/PATCH /{uid} (admins: role and status; an API
key needs `admin:read` / `admin:write`)."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.access import ADMIN_READ, ADMIN_WRITE
from aide.domain.users import AdminUserUpdate, UserEnvelope, UserRole, UserUpdate
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import parse_body
from aide.entrypoints.routing import Router
from aide.services import users

router = Router("users")


@router.route("GET", "/me")
@authenticated(scope="users:read")
def get_me(request: Request, principal: Principal) -> Response:
    return success(UserEnvelope(user=principal.user))


@router.route("PATCH", "/me")
@authenticated(scope="users:write")
def update_me(request: Request, principal: Principal) -> Response:
    body = parse_body(request, UserUpdate)
    return success(UserEnvelope(user=users.update_profile(get_firestore(), principal.uid, body)))


@router.route("GET", "/me/usage")
@authenticated(scope="users:read")
def get_my_usage(request: Request, principal: Principal) -> Response:
    # Not charged (aide.domain.quota.DEFAULT_UNITS): a caller over quota can still see why.
    from aide.services.usage_report import usage_report

    return success(usage_report(get_firestore(), principal.user))


@router.route("GET", "/{uid}")
@authenticated(required_role=UserRole.ADMIN, scope=ADMIN_READ)
def get_user(request: Request, principal: Principal, uid: str) -> Response:
    return success(UserEnvelope(user=users.get_user(get_firestore(), uid)))


@router.route("PATCH", "/{uid}")
@authenticated(required_role=UserRole.ADMIN, scope=ADMIN_WRITE)
def update_user(request: Request, principal: Principal, uid: str) -> Response:
    body = parse_body(request, AdminUserUpdate)
    return success(UserEnvelope(user=users.admin_update_user(get_firestore(), uid, body)))


def serve(request: Request) -> Response:
    return handle(request, router)
