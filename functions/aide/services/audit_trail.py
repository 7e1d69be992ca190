"""The audit trail: entries written with the change (tasks and task groups), entries from
document-change triggers, and direct entries for the rest.

Rules and the design choice (stamp + trigger, event-id keyed) are in aide.domain.audit_trail.
Exactly once: an entry's id is derived from its trigger event id (or, for direct entries, from
the request id, action and resource), and it is written with `create`, so a duplicate delivery
— sequential or concurrent — fails to create it again and changes nothing.

Services that write audited documents add `change_stamp()` to the fields they write; the
authenticated HTTP wrapper binds the caller (`bind_actor`) for the duration of the request.
Writes made by the platform itself (the agent runtime, the sweeper, dependency dispatch outside
a request) stamp `system_actor(component)`: the stamp persists on the document, so an unstamped
status change would otherwise be attributed to whoever changed the document last. Outside a
request and without an explicit actor, `change_stamp()` stamps the anonymous SYSTEM_ACTOR for
the same reason.

Deletions: the trigger only sees the old document, whose stamp is the previous writer's. A
service that deletes an audited document therefore writes the `<resource>.deleted` entry itself
in the deleting transaction (`deletion_entry`), under an id derived from the resource
(`audit_id_for_deletion`); the trigger derives the same id for the deletion and finds the entry
already there, so the deletion is recorded once, with the deleter as actor.
"""

from __future__ import annotations

import contextvars
import hashlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aide.adapters.repositories import AuditLogRepository
from aide.domain.audit_logs import ActorType, AuditLog
from aide.domain.audit_trail import (
    CHANGE_ID_KEY,
    CHANGE_STAMP_FIELD,
    SYSTEM_ACTOR,
    AuditedChange,
    ChangeActor,
    audit_id_for_change,
    audit_id_for_event,
    audited_by_writer,
    change_actor,
    classify,
    summary,
)
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.unit_of_work import UnitOfWork

_actor: contextvars.ContextVar[ChangeActor | None] = contextvars.ContextVar(
    "aide_change_actor", default=None
)


def bind_actor(actor: ChangeActor | None) -> None:
    _actor.set(actor)


def current_actor() -> ChangeActor | None:
    return _actor.get()


def system_actor(component: str) -> ChangeActor:
    """The platform acting on its own, named by the component (e.g. "system:agent_runtime")."""
    return ChangeActor(ActorType.SYSTEM, f"system:{component}")


def change_stamp(actor: ChangeActor | None = None) -> dict[str, Any]:
    """`{"lastChangedBy": {...}}` for the given actor, else the request's, else the system."""
    actor = actor or current_actor() or SYSTEM_ACTOR
    return {CHANGE_STAMP_FIELD: actor.to_stamp()}


def audited_stamp(
    uow: UnitOfWork,
    collection: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    *,
    actor: ChangeActor | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The stamp for writing `resource_id` from `before` (None: created) to `after` in `uow`;
    when the change is audited, its entry is created in the same unit of work, under an id
    derived from a fresh change id that the stamp carries — so the trigger, seeing that id,
    knows the entry exists (aide.domain.audit_trail.audited_by_writer)."""
    who = actor or current_actor() or SYSTEM_ACTOR
    stamp = who.to_stamp()
    change = classify(collection, before, after)
    if change is not None:
        change_id = uuid.uuid4().hex
        stamp[CHANGE_ID_KEY] = change_id
        uow.audit_logs.create(
            change_entry(audit_id_for_change(change_id), who, change, resource_id, at)
        )
    return {CHANGE_STAMP_FIELD: stamp}


def audit_id_for_deletion(resource_type: str, resource_id: str) -> str:
    """A deletion happens once per document id (ids are never reused), so the entry is keyed by
    the resource: the deleting service and the trigger's deliveries all collide on it."""
    key = f"{resource_type}\x00deleted\x00{resource_id}"
    return "del_" + hashlib.sha256(key.encode()).hexdigest()[:40]


def deletion_entry(
    resource_type: str,
    resource_id: str,
    before: dict[str, Any],
    actor: ChangeActor | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """The `<resource>.deleted` entry a deleting service writes in its own transaction."""
    return entry(
        audit_id_for_deletion(resource_type, resource_id),
        actor or current_actor() or SYSTEM_ACTOR,
        f"{resource_type}.deleted",
        resource_type,
        resource_id,
        before=summary(resource_type, before),
        at=at,
    )


def entry(
    entry_id: str,
    actor: ChangeActor,
    action: str,
    resource_type: str,
    resource_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditLog:
    return AuditLog(
        id=entry_id,
        actor_type=actor.actor_type,
        actor_id=actor.actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
        request_id=actor.request_id,
        ip=actor.ip,
        user_agent=actor.user_agent,
        timestamp=at or utc_now(),
    )


def change_entry(
    entry_id: str,
    actor: ChangeActor,
    change: AuditedChange,
    resource_id: str,
    at: datetime | None,
) -> AuditLog:
    return entry(
        entry_id,
        actor,
        change.action,
        change.resource_type,
        resource_id,
        before=change.before,
        after=change.after,
        at=at,
    )


def write_entry(db: Client, log: AuditLog) -> bool:
    """Create the entry; False when it already exists (a duplicate). Inside a unit of work,
    `uow.audit_logs.create(log)` instead: a duplicate then fails the whole unit."""
    return AuditLogRepository(db).create_once(log)


def record_document_change(
    db: Client,
    event_id: str,
    collection: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime | None = None,
) -> bool:
    """The audit entry for one trigger event, if the change is audited and its writer did not
    create the entry itself; True when written now."""
    if audited_by_writer(before, after):
        return False
    change = classify(collection, before, after)
    if change is None:
        return False
    actor = change_actor(change.resource_type, resource_id, before, after)
    entry_id = (
        audit_id_for_deletion(change.resource_type, resource_id)
        if after is None
        else audit_id_for_event(event_id)
    )
    return write_entry(db, change_entry(entry_id, actor, change, resource_id, at))
