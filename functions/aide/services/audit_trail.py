"""The audit trail: entries from document-change triggers, and direct entries for the rest.

Rules and the design choice (stamp + trigger, event-id keyed) are in aide.domain.audit_trail.
Exactly once: an entry's id is derived from its trigger event id (or, for direct entries, from
the request id, action and resource), and it is written with `create`, so a duplicate delivery
— sequential or concurrent — fails to create it again and changes nothing.

Services that write audited documents add `change_stamp()` to the fields they write; the
authenticated HTTP wrapper binds the caller (`bind_actor`) for the duration of the request.
"""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aide.domain import collections
from aide.domain.audit_logs import AuditLog
from aide.domain.audit_trail import (
    CHANGE_STAMP_FIELD,
    ChangeActor,
    audit_id_for_event,
    change_actor,
    classify,
)
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client, Transaction, WriteBatch

_actor: contextvars.ContextVar[ChangeActor | None] = contextvars.ContextVar(
    "aide_change_actor", default=None
)


def bind_actor(actor: ChangeActor | None) -> None:
    _actor.set(actor)


def current_actor() -> ChangeActor | None:
    return _actor.get()


def change_stamp(actor: ChangeActor | None = None) -> dict[str, Any]:
    """`{"lastChangedBy": {...}}` for the given actor or the request's; {} outside a request."""
    actor = actor or current_actor()
    return {CHANGE_STAMP_FIELD: actor.to_stamp()} if actor is not None else {}


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


def write_entry(
    db: Client, log: AuditLog, *, writer: Transaction | WriteBatch | None = None
) -> bool:
    """Create the entry; False when it already exists (a duplicate). With a writer, the
    existence check is the commit's: a duplicate then fails the whole unit of work."""
    from google.api_core import exceptions

    ref = db.collection(collections.AUDIT_LOGS).document(log.id)
    if writer is not None:
        writer.create(ref, log.to_document())
        return True
    try:
        ref.create(log.to_document())
    except (exceptions.AlreadyExists, exceptions.Conflict):
        return False
    return True


def record_document_change(
    db: Client,
    event_id: str,
    collection: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime | None = None,
) -> bool:
    """The audit entry for one trigger event, if the change is audited; True when written now."""
    change = classify(collection, before, after)
    if change is None:
        return False
    actor = change_actor(change.resource_type, resource_id, before, after)
    log = entry(
        audit_id_for_event(event_id),
        actor,
        change.action,
        change.resource_type,
        resource_id,
        before=change.before,
        after=change.after,
        at=at,
    )
    return write_entry(db, log)
