"""Who is calling and what they may do: the principal, scopes, and the access failures.

Pure: no I/O. Services raise the AccessError subclasses below; the HTTP layer
(aide.entrypoints.auth) renders each as its status (401, 403, 404, 503).
"""

from __future__ import annotations

from dataclasses import dataclass

from aide.domain.users import User, UserRole, UserStatus

# Scopes an API key can carry: "<resource>:<read|write>", "<resource>:*", "*" for every resource,
# and the admin scopes. A Firebase ID token (the user themself) is not scoped.
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
# The operations only admins may call (audit trail, other users' accounts) need one of these,
# named on the key: no resource scope and not "*" implies them, so a key issued for, say,
# `users:write` never carries its admin owner's power over other accounts.
ADMIN_RESOURCE = "admin"
ADMIN_READ = "admin:read"
ADMIN_WRITE = "admin:write"
ADMIN_SCOPES: tuple[str, ...] = (ADMIN_READ, ADMIN_WRITE, f"{ADMIN_RESOURCE}:*")
# The lowest role that may hold API keys. A key acts for its owner's *current* role, and not at
# all once the owner is below this one (the owner can still list and revoke it).
API_KEY_HOLDER_ROLE = UserRole.DEVELOPER


def known_scopes() -> frozenset[str]:
    scopes = {ALL_SCOPES, *ADMIN_SCOPES}
    for resource in SCOPED_RESOURCES:
        scopes.add(f"{resource}:*")
        scopes.update(f"{resource}:{action}" for action in SCOPE_ACTIONS)
    return frozenset(scopes)


KNOWN_SCOPES = known_scopes()


def scope_grants(granted: frozenset[str], required: str) -> bool:
    """True when `granted` covers `required`: itself, "<resource>:*", or "*" — except that an
    admin scope is granted only by an admin scope."""
    if required in granted:
        return True
    resource, _, _action = required.partition(":")
    if f"{resource}:*" in granted:
        return True
    return resource != ADMIN_RESOURCE and ALL_SCOPES in granted


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
    if principal.via_api_key and not principal.role.satisfies(API_KEY_HOLDER_ROLE):
        raise InsufficientPermissions(
            f"Insufficient permissions: API keys act only for a {API_KEY_HOLDER_ROLE} or admin; "
            f"the key's owner is now a {principal.role}"
        )
    if scope is not None and not principal.has_scope(scope):
        raise InsufficientPermissions(f"Insufficient permissions: API key lacks scope {scope!r}")
