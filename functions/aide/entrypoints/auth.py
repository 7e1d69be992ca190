"""Authentication and authorization for every resource function's handlers.

Stable API (other resource modules build on it):

    from aide.domain.users import UserRole
    from aide.entrypoints.auth import Principal, authenticated

    @router.route("GET", "/{task_id}")
    @authenticated(scope="tasks:read")          # required_role defaults to UserRole.USER
    def get_task(request: Request, principal: Principal, task_id: str) -> Response: ...

* `authenticated(*, required_role=UserRole.USER, scope=None)` turns
  `handler(request, principal, **path_params)` into the `handler(request, **path_params)` that
  `Router.route` registers (put `@authenticated` BELOW `@router.route`). Before the handler runs:
  credentials are read and checked (ID token or API key, see aide.services.authentication; the
  first call of a new user provisions users/{uid}), then `aide.domain.access.authorize`
  (status, role `user < developer < admin`, the API key's scope), then every admission hook.
* `Principal` (aide.domain.access): `uid`, `role`, `user` (the users/{uid} document as read for
  this request), `api_key_id` (None for an ID token), `scopes` (None = every scope, i.e. an ID
  token), `via_api_key`, `has_scope(scope)`.
* Scopes: "<resource>:read" / "<resource>:write" (resource: agents, tasks, task_groups, projects,
  users), "<resource>:*", "*". Use `scope="<resource>:read"` on reads and ":write" on writes.
* Refusals, in the error envelope: 401 `unauthenticated` (missing/invalid credentials; with a
  `WWW-Authenticate: Bearer` header), 403 `account_inactive` "Account inactive", 403
  `permission_denied` "Insufficient permissions", 503 `unavailable` (identity provider down).
* Handlers and the services they call may raise aide.domain.access errors themselves; they render
  the same way, plus `ResourceNotFound` -> 404 `not_found`. Use it for another tenant's resource
  so that its existence is never confirmed.
* `admission_hooks`: callables `(request, principal, operation) -> None` run after authorization
  and before the handler — the one place where quotas and metering (issue 6) plug in; a hook
  refuses by raising an ApiError (e.g. QuotaExceeded) or an AccessError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

__all__ = [
    "AdmissionHook",
    "AuthenticatedHandler",
    "Operation",
    "Principal",
    "admission_hooks",
    "api_error",
    "authenticated",
    "resolve_principal",
]

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="aide"'}


@dataclass(frozen=True)
class Operation:
    """What an admission hook learns about the operation being admitted."""

    name: str  # "<module>.<handler>", e.g. "aide.entrypoints.agents.list_agents"
    required_role: UserRole
    scope: str | None


AuthenticatedHandler = Callable[..., Response]
AdmissionHook = Callable[[Request, Principal, Operation], None]

admission_hooks: list[AdmissionHook] = []


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


def authenticated(
    *, required_role: UserRole = UserRole.USER, scope: str | None = None
) -> Callable[[AuthenticatedHandler], Callable[..., Response]]:
    def decorate(handler: AuthenticatedHandler) -> Callable[..., Response]:
        operation = Operation(
            name=f"{handler.__module__}.{handler.__name__}",
            required_role=required_role,
            scope=scope,
        )

        @functools.wraps(handler)
        def run(request: Request, **params: Any) -> Response:
            try:
                principal = resolve_principal(request)
                authorize(principal, required_role=required_role, scope=scope)
                for hook in admission_hooks:
                    hook(request, principal, operation)
                return handler(request, principal, **params)
            except AccessError as error:
                raise api_error(error) from error

        return run

    return decorate


def _register_issue6_hooks() -> None:
    # Issue 6: every authenticated call is metered, and its caller is bound for audit stamps.
    # Imported here, after this module's own definitions, because the hook modules refer back.
    from aide.entrypoints.audit import bind_request_actor
    from aide.entrypoints.metering import meter

    for hook in (meter, bind_request_actor):
        if hook not in admission_hooks:
            admission_hooks.append(hook)


_register_issue6_hooks()
