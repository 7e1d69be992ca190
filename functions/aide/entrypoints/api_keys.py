"""api_keys: POST / (issue; the key is in this response only), GET /, GET /{keyId},
DELETE /{keyId} (revoke). Only with an ID token: a leaked key must not be able to mint or revoke
keys. Issuing needs the developer role (admin scopes the admin role); listing, reading and
revoking need none, so that an owner demoted below developer can still see and revoke keys that
no longer work for them."""

from __future__ import annotations

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.access import (
    ADMIN_SCOPES,
    API_KEY_HOLDER_ROLE,
    InsufficientPermissions,
)
from aide.domain.api_keys import (
    ApiKeyCreate,
    ApiKeyEnvelope,
    ApiKeyIssued,
    ApiKeyList,
    ApiKeyView,
)
from aide.domain.users import UserRole
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.errors import ValidationFailed
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import parse_body
from aide.entrypoints.routing import Router
from aide.services import api_keys

router = Router("api_keys")


def _refuse_api_keys(principal: Principal) -> None:
    if principal.via_api_key:
        raise InsufficientPermissions("API keys are managed with a signed-in user's ID token")


@router.route("POST", "/")
@authenticated(required_role=API_KEY_HOLDER_ROLE)
def create_api_key(request: Request, principal: Principal) -> Response:
    _refuse_api_keys(principal)
    body = parse_body(request, ApiKeyCreate)
    if set(body.scopes) & set(ADMIN_SCOPES) and not principal.role.satisfies(UserRole.ADMIN):
        raise InsufficientPermissions("Insufficient permissions: admin scopes need the admin role")
    try:
        issued = api_keys.create_api_key(get_firestore(), principal.uid, body)
    except api_keys.InvalidExpiry as error:
        raise ValidationFailed(
            details=[{"field": "expiresAt", "message": str(error), "type": "future"}]
        ) from error
    view = ApiKeyView.of(issued.api_key)
    return success(
        ApiKeyIssued(api_key=view, key=issued.key),
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@router.route("GET", "/")
@authenticated()
def list_api_keys(request: Request, principal: Principal) -> Response:
    _refuse_api_keys(principal)
    keys = api_keys.list_api_keys(get_firestore(), principal.uid)
    return success(ApiKeyList(api_keys=[ApiKeyView.of(key) for key in keys]))


@router.route("GET", "/{key_id}")
@authenticated()
def get_api_key(request: Request, principal: Principal, key_id: str) -> Response:
    _refuse_api_keys(principal)
    key = api_keys.get_api_key(get_firestore(), principal.uid, key_id)
    return success(ApiKeyEnvelope(api_key=ApiKeyView.of(key)))


@router.route("DELETE", "/{key_id}")
@authenticated()
def revoke_api_key(request: Request, principal: Principal, key_id: str) -> Response:
    _refuse_api_keys(principal)
    key = api_keys.revoke_api_key(get_firestore(), principal.uid, key_id)
    return success(ApiKeyEnvelope(api_key=ApiKeyView.of(key)))


def serve(request: Request) -> Response:
    return handle(request, router)
