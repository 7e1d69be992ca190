"""Authentication and authorization of the operations an HTTP function serves.

Declaring an operation (every resource module does this):

    from aide.domain.users import UserRole
    from aide.entrypoints.auth import Principal, authenticated

    @router.route("GET", "/{task_id}")
    @authenticated(scope="tasks:read")          # required_role defaults to UserRole.USER
    def get_task(request: Request, principal: Principal, task_id: str) -> Response: ...

* `authenticated(*, required_role=UserRole.USER, scope=None, on_denied=None)` declares the
  operation (aide.entrypoints.operation.Operation); put it BELOW `@router.route`. The HTTP
  handler (aide.entrypoints.http_handler.handle) admits each request before the handler runs:
  `admit` reads and checks the credentials (ID token or API key, see
  aide.services.authentication; the first call of a new user provisions users/{uid}), then
  `aide.domain.access.authorize` (status, role `user < developer < admin`, the API key's
  scope), then the admission steps the HTTP handler composes (metering, the audit actor).
* `Principal` (aide.domain.access): `uid`, `role`, `user` (the users/{uid} document as read for
  this request), `api_key_id` (None for an ID token), `scopes` (None = every scope, i.e. an ID
  token), `via_api_key`, `has_scope(scope)`.
* Scopes: "<resource>:read" / "<resource>:write" (resource: agents, tasks, task_groups, projects,
  users), "<resource>:*", "*". Use `scope="<resource>:read"` on reads and ":write" on writes.
* Refusals, in the error envelope: 401 `unauthenticated` (missing/invalid credentials; with a
  `WWW-Authenticate: Bearer` header), 403 `account_inactive` "Account inactive", 403
  `permission_denied` "Insufficient permissions", 503 `unavailable` (identity provider down).
* Handlers and the services they call may raise aide.domain.access errors themselves; they render
  the same way (`api_error`), plus `ResourceNotFound` -> 404 `not_found`. Use it for another
  tenant's resource so that its existence is never confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Request, Response

from aide.domain.access import (
    AccessError,
    AccountInactive,
    IdentityUnavailable,
    InsufficientPermissions,
    NotAuthenticated,
    Principal,
    ResourceNotFound,
    authorize,
)
from aide.domain.users import UserRole
from aide.entrypoints import errors
from aide.entrypoints.operation import (
    AdmissionStep,
    AuthenticatedHandler,
    DenialRecorder,
    Operation,
)

__all__ = [
    "AdmissionStep",
    "AuthenticatedHandler",
    "Operation",
    "Principal",
    "admit",
    "api_error",
    "authenticated",
    "resolve_principal",
]

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="aide"'}


def api_error(error: AccessError) -> errors.ApiError:
    """The HTTP error for an access failure."""
    if isinstance(error, NotAuthenticated):
        return errors.Unauthenticated(error.message, headers=WWW_AUTHENTICATE)
    if isinstance(error, AccountInactive):
        return errors.AccountInactive(error.message)
    if isinstance(error, InsufficientPermissions):
        return errors.PermissionDenied(error.message)
    if isinstance(error, ResourceNotFound):
        return errors.NotFound(error.message)
    if isinstance(error, IdentityUnavailable):
        return errors.Unavailable(error.message, headers={"Retry-After": "5"})
    return errors.PermissionDenied(error.message)


def resolve_principal(request: Request) -> Principal:
    """The request's principal (authenticated, not yet authorized); raises AccessError."""
    from aide.adapters.firestore_client import get_firestore
    from aide.adapters.identity import get_token_verifier
    from aide.services.authentication import authenticate, read_credential

    credential = read_credential(
        request.headers.get("Authorization"), request.headers.get("X-API-Key")
    )
    if credential is None:
        raise NotAuthenticated()
    return authenticate(get_firestore(), get_token_verifier(), credential)


def admit(request: Request, operation: Operation, steps: Iterable[AdmissionStep]) -> Principal:
    """Authenticate, authorize, then run each admission step in order; the admitted principal.
    Every refusal is an ApiError (an access failure rendered by `api_error`)."""
    try:
        principal = resolve_principal(request)
        try:
            authorize(principal, required_role=operation.required_role, scope=operation.scope)
        except InsufficientPermissions:
            if operation.on_denied is not None:
                operation.on_denied(request, principal)
            raise
        for step in steps:
            step(request, principal, operation)
    except AccessError as error:
        raise api_error(error) from error
    return principal


def authenticated(
    *,
    required_role: UserRole = UserRole.USER,
    scope: str | None = None,
    on_denied: DenialRecorder | None = None,
) -> Callable[[Callable[..., Response]], AuthenticatedHandler]:
    """Declare `handler(request, principal, **path_params)` an authenticated operation."""

    def decorate(handler: Callable[..., Response]) -> AuthenticatedHandler:
        operation = Operation(
            name=f"{handler.__module__}.{handler.__name__}",
            required_role=required_role,
            scope=scope,
            on_denied=on_denied,
        )
        return AuthenticatedHandler(operation, handler)

    return decorate
