"""What admins do to accounts: set role, status or plan; reset quotas; read the audit trail.

Role/status/plan changes are stamped with the admin (`lastChangedBy`) so the users trigger
records them; a quota reset writes its audit entry in the same transaction as the reset.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions
from google.cloud import firestore

from aide.adapters.repositories import AuditLogRepository, UserRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.access import ResourceNotFound
from aide.domain.audit_logs import AuditLog
from aide.domain.audit_trail import ChangeActor, audit_id_for_request
from aide.domain.system_config import PlanName
from aide.domain.tasks import is_usable_id
from aide.domain.timestamps import as_utc, rfc3339, utc_now
from aide.domain.users import User, UserRole, UserStatus, next_day_start, next_month_start
from aide.services import audit_trail
from aide.services.metering import carry_over

if TYPE_CHECKING:
    from google.cloud.firestore import Client


class InvalidAuditQuery(ValueError):
    """A filter combination or cursor the audit listing cannot serve (400)."""


def _require_user_id(uid: str) -> None:
    # Ids Firestore itself refuses name no user: 404, not a 500 from the client library.
    if not is_usable_id(uid):
        raise ResourceNotFound("User not found")


def _change_user(
    db: Client,
    uid: str,
    actor: ChangeActor,
    fields_for: Callable[[UnitOfWork, User], dict[str, Any]],
    now: Callable[[], datetime],
) -> User:
    _require_user_id(uid)

    def apply(uow: UnitOfWork) -> None:
        user = uow.users.get(uid)
        if user is None:
            raise ResourceNotFound("User not found")
        fields = fields_for(uow, user)
        if fields:
            uow.users.update(
                uid, {**fields, "updatedAt": now(), **audit_trail.change_stamp(actor)}
            )

    run_in_transaction(db, apply)
    user = UserRepository(db).get(uid)
    if user is None:
        raise ResourceNotFound("User not found")
    return user


def set_role(
    db: Client,
    uid: str,
    role: UserRole,
    actor: ChangeActor,
    *,
    now: Callable[[], datetime] = utc_now,
) -> User:
    return _change_user(
        db, uid, actor, lambda _t, user: {} if user.role == role else {"role": str(role)}, now
    )


def set_status(
    db: Client,
    uid: str,
    status: UserStatus,
    actor: ChangeActor,
    *,
    now: Callable[[], datetime] = utc_now,
) -> User:
    return _change_user(
        db,
        uid,
        actor,
        lambda _t, user: {} if user.status == status else {"status": str(status)},
        now,
    )


def set_plan(
    db: Client,
    uid: str,
    plan: PlanName,
    actor: ChangeActor,
    *,
    now: Callable[[], datetime] = utc_now,
) -> User:
    """Moves the account to `plan` and its limits; usage so far in the periods is kept."""

    def fields(uow: UnitOfWork, user: User) -> dict[str, Any]:
        if user.subscription.plan == plan:
            return {}
        limits = uow.plans.load().plan(plan)
        return {
            "subscription.plan": str(plan),
            "quotas.apiCalls.limit": limits.api_calls_per_day,
            "quotas.apiCalls.burstLimit": limits.burst_per_minute,
            "quotas.taskMinutes.limit": limits.task_minutes_per_month,
            "quotas.storageBytes.limit": limits.storage_bytes,
            # Today's calls move to counters sliced for the new limit (and the recorded
            # exhaustion follows the new limit).
            **carry_over(
                uow, user, limits.api_calls_per_day, now(), limits.burst_per_minute
            ),
        }

    return _change_user(db, uid, actor, fields, now)


def reset_quota(
    db: Client, uid: str, actor: ChangeActor, *, now: Callable[[], datetime] = utc_now
) -> User:
    """Starts the user's API-call and task-minute periods afresh (new counter generation).

    Idempotent per request: the audit entry's id derives from the request id and is created in
    the same transaction, so a retried request finds it and resets nothing twice.
    """
    _require_user_id(uid)
    moment = now()
    entry_id = audit_id_for_request(actor.request_id or uuid.uuid4().hex, "quota.reset", uid)

    def apply(uow: UnitOfWork) -> None:
        user = uow.users.get(uid)
        if user is None:
            raise ResourceNotFound("User not found")
        before = {
            "apiCalls": {"generation": user.quotas.api_calls.generation},
            "taskMinutes": {"used": user.quotas.task_minutes.used},
        }
        generation = user.quotas.api_calls.generation + 1
        uow.users.update(
            uid,
            {
                "quotas.apiCalls.generation": generation,
                "quotas.apiCalls.used": 0,
                "quotas.apiCalls.reset": next_day_start(moment),
                "quotas.apiCalls.blockedUntil": firestore.DELETE_FIELD,
                "quotas.taskMinutes.used": 0,
                "quotas.taskMinutes.reset": next_month_start(moment),
                "updatedAt": moment,
                **audit_trail.change_stamp(actor),
            },
        )
        log = audit_trail.entry(
            entry_id,
            actor,
            "quota.reset",
            "user",
            uid,
            before=before,
            after={"apiCalls": {"generation": generation}, "taskMinutes": {"used": 0}},
            at=moment,
        )
        uow.audit_logs.create(log)

    try:
        run_in_transaction(db, apply)
    except (exceptions.AlreadyExists, exceptions.Conflict):
        pass  # the same request already reset the quota
    user = UserRepository(db).get(uid)
    if user is None:
        raise ResourceNotFound("User not found")
    return user


def record_denied_admin_access(
    db: Client, actor: ChangeActor, method: str, path: str, *, now: Callable[[], datetime] = utc_now
) -> None:
    resource = f"{method} {path}"
    log = audit_trail.entry(
        audit_id_for_request(actor.request_id or resource, "admin.access_denied", resource),
        actor,
        "admin.access_denied",
        "admin_endpoint",
        resource,
        at=now(),
    )
    audit_trail.write_entry(db, log)


# Audit listing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class AuditPage:
    logs: list[AuditLog]
    next_cursor: str | None


# Equality-filter combinations with a composite index (firestore.indexes.json), each ordered by
# timestamp descending; other combinations are refused rather than failing in Firestore.
SUPPORTED_FILTERS: frozenset[frozenset[str]] = frozenset(
    {
        frozenset(),
        frozenset({"actorId"}),
        frozenset({"action"}),
        frozenset({"resourceType"}),
        frozenset({"resourceType", "resourceId"}),
        frozenset({"actorId", "action"}),
    }
)


def _fingerprint(equalities: dict[str, str]) -> str:
    return json.dumps(sorted(equalities.items()))


def _encode_cursor(log: AuditLog, fingerprint: str) -> str:
    raw = json.dumps({"t": rfc3339(log.timestamp), "id": log.id, "f": fingerprint})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> tuple[datetime, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if raw["f"] != fingerprint:
            raise ValueError("cursor belongs to other filters")
        return as_utc(datetime.fromisoformat(raw["t"].replace("Z", "+00:00"))), str(raw["id"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidAuditQuery("Invalid cursor") from error


def list_audit_logs(db: Client, query: AuditQuery) -> AuditPage:
    equalities = {
        name: value
        for name, value in (
            ("actorId", query.actor_id),
            ("action", query.action),
            ("resourceType", query.resource_type),
            ("resourceId", query.resource_id),
        )
        if value
    }
    if frozenset(equalities) not in SUPPORTED_FILTERS:
        raise InvalidAuditQuery(
            "Unsupported filter combination: use actorId, action, actorId+action, resourceType "
            "or resourceType+resourceId (each with an optional time range)"
        )
    fingerprint = _fingerprint(equalities)
    after = _decode_cursor(query.cursor, fingerprint) if query.cursor else None
    logs = AuditLogRepository(db).page(
        equalities, since=query.since, until=query.until, limit=query.limit + 1, after=after
    )
    has_more = len(logs) > query.limit
    logs = logs[: query.limit]
    next_cursor = _encode_cursor(logs[-1], fingerprint) if has_more and logs else None
    return AuditPage(logs=logs, next_cursor=next_cursor)
