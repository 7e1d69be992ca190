"""Who is calling and what they may do: the principal, scopes, and the access failures.

Pure: no I/O. Services raise the AccessError subclasses below; the HTTP layer
(aide.entrypoints.auth) renders each as its status (401, 403, 404, 503).
"""

from __future__ import annotations

from dataclasses import dataclass

from aide.domain.users import User, UserRole, UserStatus

# Scopes an API key can carry: "<resource>:<read|write>", "<resource>:*", or "*" for everything.
# A Firebase ID token (the user themself) is not scoped.
ALL_SCOPES = "*"
SCOPED_RESOURCES: tuple[str, ...] = (
    "agents",
    "tasks",
    "task_groups",
    "projects",
    "users",
    "knowledge",
)
SCOPE_ACTIONS: tuple[str, ...] = ("read", "write")


def known_scopes() -> frozenset[str]:
    scopes = {ALL_SCOPES}
    for resource in SCOPED_RESOURCES:
        scopes.add(f"{resource}:*")
        scopes.update(f"{resource}:{action}" for action in SCOPE_ACTIONS)
    return frozenset(scopes)


KNOWN_SCOPES = known_scopes()


def scope_grants(granted: frozenset[str], required: str) -> bool:
    """True when `granted` covers `required`: itself, "<resource>:*" or "*"."""
    if ALL_SCOPES in granted or required in granted:
        return True
    resource, _, _action = required.partition(":")
    return f"{resource}:*" in granted


class AccessError(Exception):
    """A request refused for who is asking (not for what it asks)."""

    default_message = "Access denied"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotAuthenticated(AccessError):
    """Missing, malformed, expired, revoked or unknown credentials (401)."""

    default_message = "Unauthorized"


class AccountInactive(AccessError):
    """The caller's account is not active (403 "Account inactive")."""

    default_message = "Account inactive"


class InsufficientPermissions(AccessError):
    """Role too low, scope missing, or a write to a resource the caller may only read (403)."""

    default_message = "Insufficient permissions"


class ResourceNotFound(AccessError):
    """Absent, or belongs to someone else: the two are indistinguishable on purpose (404)."""

    default_message = "Not found"


class IdentityUnavailable(AccessError):
    """The identity provider could not be asked (e.g. signing keys unreachable): retry (503)."""

    default_message = "Authentication service unavailable"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller.

    `scopes` is None for a Firebase ID token (the user acting themself: every scope) and the
    key's scopes for an API key.
    """

    uid: str
    role: UserRole
    user: User
    api_key_id: str | None = None
    scopes: frozenset[str] | None = None

    @property
    def via_api_key(self) -> bool:
        return self.api_key_id is not None

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope_grants(self.scopes, scope)


def authorize(principal: Principal, *, required_role: UserRole, scope: str | None) -> None:
    """Raise unless the principal is active, has at least `required_role` and holds `scope`.

    Order matters for what a refused caller learns: status first (as the seed's withAuth), then
    role, then the key's scope.
    """
    if principal.user.status != UserStatus.ACTIVE:
        raise AccountInactive()
    if not principal.role.satisfies(required_role):
        raise InsufficientPermissions()
    if scope is not None and not principal.has_scope(scope):
        raise InsufficientPermissions(f"Insufficient permissions: API key lacks scope {scope!r}")
