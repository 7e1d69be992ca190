"""Which document changes are audited, as what action, by whom: pure rules over before/after.

How request context reaches the audit entry: services stamp `lastChangedBy`
({actorType, actorId, requestId, ip, userAgent}) on the documents they write — see
aide.services.audit_trail.change_stamp. Task and task group changes (creations, status changes)
are audited by their writer, in the same transaction (aide.services.audit_trail.audited_stamp):
the entry commits with the change or not at all, so neither a lost trigger delivery nor a crash
can lose it, and the stamp carries the change's id (`changeId`). The Firestore `written`
triggers on tasks, task_groups, projects, api_keys and users turn every other change (one whose
stamp names no new change id) into at most ONE audit entry whose id is derived from the
trigger's event id (so a duplicate delivery finds it and writes nothing).
When a writer did not stamp the change (or for a deletion, where the stamp on the old document is
the previous writer's), the actor falls back to the resource's owner (`userId`) for owned
resources and to "system" otherwise, without request id, IP or user agent.
Actions with no document change (denied admin access) or done by the admin service (quota reset)
are written directly, in the same transaction as the change when there is one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from aide.domain import collections
from aide.domain.audit_logs import ActorType

CHANGE_STAMP_FIELD: Final = "lastChangedBy"
CHANGE_ID_KEY: Final = "changeId"
"""In a stamp: the change whose audit entry the writer created in its own transaction."""

# Audited collections and the resource type their entries name.
RESOURCE_TYPES: Final[dict[str, str]] = {
    collections.TASKS: "task",
    collections.TASK_GROUPS: "task_group",
    collections.PROJECTS: "project",
    collections.API_KEYS: "api_key",
    collections.USERS: "user",
}

# What an entry keeps of a document: enough to say what changed, never secrets or bulk content.
SUMMARY_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "task": ("status", "agentId", "projectId", "groupId", "priority", "error"),
    "task_group": ("status", "name", "projectId"),
    "project": ("name", "description", "visibility", "members", "status"),
    "api_key": ("name", "scopes", "prefix", "revokedAt", "expiresAt"),
    "user": ("role", "status", "subscription"),
}

# Fields whose change alone is bookkeeping, not a state change worth an entry.
_NOISE: Final = frozenset({"updatedAt", CHANGE_STAMP_FIELD})


@dataclass(frozen=True)
class ChangeActor:
    actor_type: ActorType
    actor_id: str
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None

    def to_stamp(self) -> dict[str, Any]:
        stamp: dict[str, Any] = {"actorType": str(self.actor_type), "actorId": self.actor_id}
        for key, value in (
            ("requestId", self.request_id),
            ("ip", self.ip),
            ("userAgent", self.user_agent),
        ):
            if value is not None:
                stamp[key] = value
        return stamp

    @classmethod
    def from_stamp(cls, stamp: Any) -> ChangeActor | None:
        if not isinstance(stamp, dict) or not stamp.get("actorId"):
            return None
        try:
            actor_type = ActorType(stamp.get("actorType", ActorType.USER))
        except ValueError:
            actor_type = ActorType.USER
        return cls(
            actor_type=actor_type,
            actor_id=str(stamp["actorId"]),
            request_id=stamp.get("requestId"),
            ip=stamp.get("ip"),
            user_agent=stamp.get("userAgent"),
        )


SYSTEM_ACTOR: Final = ChangeActor(ActorType.SYSTEM, "system")


@dataclass(frozen=True)
class AuditedChange:
    action: str
    resource_type: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def summary(resource_type: str, document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {
        name: document[name] for name in SUMMARY_FIELDS.get(resource_type, ()) if name in document
    }


def _plan(document: dict[str, Any]) -> Any:
    subscription = document.get("subscription")
    return subscription.get("plan") if isinstance(subscription, dict) else None


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    keys = (set(before) | set(after)) - _NOISE
    return any(before.get(key) != after.get(key) for key in keys)


def _action(
    resource: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> str | None:
    if before is None and after is None:
        return None
    if resource == "user":
        if before is None or after is None:
            return None  # provisioning and account deletion are not admin state changes
        for field, action in (("role", "role_changed"), ("status", "status_changed")):
            if before.get(field) != after.get(field):
                return f"user.{action}"
        if _plan(before) != _plan(after):
            return "user.plan_changed"
        return None
    if before is None:
        return f"{resource}.created"
    if after is None:
        return f"{resource}.deleted"
    if resource in ("task", "task_group"):
        if before.get("status") == after.get("status"):
            return None  # progress, metrics, heartbeats: not a state change
        if after.get("status") == "cancelled":
            return f"{resource}.cancelled"
        return f"{resource}.transitioned"
    if resource == "api_key":
        if before.get("revokedAt") is None and after.get("revokedAt") is not None:
            return "api_key.revoked"
        return "api_key.changed" if _changed(before, after) else None
    return f"{resource}.changed" if _changed(before, after) else None


def classify(
    collection: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> AuditedChange | None:
    """The one audit action a document change amounts to, or None when it is not audited."""
    resource = RESOURCE_TYPES.get(collection)
    if resource is None:
        return None
    action = _action(resource, before, after)
    if action is None:
        return None
    return AuditedChange(action, resource, summary(resource, before), summary(resource, after))


def change_actor(
    resource_type: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> ChangeActor:
    """Who made the change: the writer's stamp, else the owner, else the system."""
    if after is not None:
        stamped = ChangeActor.from_stamp(after.get(CHANGE_STAMP_FIELD))
        if stamped is not None:
            return stamped
    document = after if after is not None else before
    owner = (document or {}).get("userId")
    if resource_type == "user":
        return SYSTEM_ACTOR
    if isinstance(owner, str) and owner:
        return ChangeActor(ActorType.USER, owner)
    return SYSTEM_ACTOR


def audit_id_for_event(event_id: str) -> str:
    """An audit entry's id from its trigger event id: duplicates of the event collide on it."""
    return "evt_" + hashlib.sha256(event_id.encode()).hexdigest()[:40]


def audit_id_for_change(change_id: str) -> str:
    """The id of the entry a writer creates with its change (the stamp carries `change_id`)."""
    return "chg_" + hashlib.sha256(change_id.encode()).hexdigest()[:40]


def change_id_of(document: dict[str, Any] | None) -> str | None:
    stamp = (document or {}).get(CHANGE_STAMP_FIELD)
    value = stamp.get(CHANGE_ID_KEY) if isinstance(stamp, dict) else None
    return value if isinstance(value, str) and value else None


def audited_by_writer(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Whether the write from `before` to `after` created its own audit entry: its stamp names
    a change id the previous version did not have."""
    written = change_id_of(after)
    return written is not None and written != change_id_of(before)


def audit_id_for_request(request_id: str, action: str, resource_id: str) -> str:
    key = f"{request_id}\x00{action}\x00{resource_id}"
    return "req_" + hashlib.sha256(key.encode()).hexdigest()[:40]
