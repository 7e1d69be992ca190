"""The caller's own account: read it, change what the user owns (name and preferences).

Role, status, subscription and quotas are the platform's; only admins change role and status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aide.adapters.repositories import UserRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.access import ResourceNotFound
from aide.domain.timestamps import utc_now
from aide.domain.users import AdminUserUpdate, User, UserUpdate
from aide.services import audit_trail

if TYPE_CHECKING:
    from google.cloud.firestore import Client


def _profile_fields(request: UserUpdate) -> dict[str, Any]:
    """Dotted field paths for what the request names, so unnamed preferences stay untouched."""
    fields: dict[str, Any] = {}
    given = request.model_dump(mode="python", by_alias=True, exclude_unset=True)
    if given.get("displayName") is not None:
        fields["displayName"] = given["displayName"]
    for name, value in (given.get("preferences") or {}).items():
        if value is not None:
            fields[f"preferences.{name}"] = value
    return fields


def _apply(db: Client, uid: str, fields: dict[str, Any], now: Callable[[], datetime]) -> User:
    def apply(uow: UnitOfWork) -> None:
        if uow.users.get(uid) is None:
            raise ResourceNotFound("User not found")
        if fields:
            uow.users.update(uid, {**fields, "updatedAt": now(), **audit_trail.change_stamp()})

    run_in_transaction(db, apply)
    user = UserRepository(db).get(uid)
    if user is None:
        raise ResourceNotFound("User not found")
    return user


def update_profile(
    db: Client, uid: str, request: UserUpdate, *, now: Callable[[], datetime] = utc_now
) -> User:
    return _apply(db, uid, _profile_fields(request), now)


def get_user(db: Client, uid: str) -> User:
    user = UserRepository(db).get(uid)
    if user is None:
        raise ResourceNotFound("User not found")
    return user


def admin_update_user(
    db: Client, uid: str, request: AdminUserUpdate, *, now: Callable[[], datetime] = utc_now
) -> User:
    """An admin changes someone's role or status (e.g. deactivates an account)."""
    given = request.model_dump(mode="python", by_alias=True, exclude_none=True)
    return _apply(db, uid, given, now)
