"""Issuing, listing and revoking a user's API keys.

The key itself exists only in the create response; Firestore keeps its SHA-256 (see
aide.domain.api_keys for the format and why a plain hash suffices).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from google.api_core.exceptions import AlreadyExists, Conflict

from aide.adapters.repositories import ApiKeyRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.access import ResourceNotFound
from aide.domain.api_keys import ApiKey, ApiKeyCreate, format_api_key, hash_api_key
from aide.domain.timestamps import utc_now
from aide.services import audit_trail

if TYPE_CHECKING:
    from google.cloud.firestore import Client

MAX_KEYS_LISTED = 100
# Shown in listings so a user can tell keys apart; 24 of the secret's 256 bits.
VISIBLE_SECRET_CHARS = 4
_CREATE_ATTEMPTS = 3


class InvalidExpiry(ValueError):
    """expiresAt is not in the future."""


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    key: str


def generate_key() -> tuple[str, str]:
    """(key id, full key): 64 random bits of id, 256 random bits of secret."""
    key_id = secrets.token_hex(8)
    return key_id, format_api_key(key_id, secrets.token_urlsafe(32))


def create_api_key(
    db: Client,
    user_id: str,
    request: ApiKeyCreate,
    *,
    now: Callable[[], datetime] = utc_now,
) -> IssuedApiKey:
    created_at = now()
    if request.expires_at is not None and request.expires_at <= created_at:
        raise InvalidExpiry("expiresAt must be in the future")
    keys = ApiKeyRepository(db)
    for attempt in range(_CREATE_ATTEMPTS):
        key_id, key = generate_key()
        api_key = ApiKey(
            id=key_id,
            user_id=user_id,
            name=request.name,
            scopes=request.scopes,
            prefix=key[: len(format_api_key(key_id, "")) + VISIBLE_SECRET_CHARS],
            hash=hash_api_key(key),
            created_at=created_at,
            expires_at=request.expires_at,
        )
        try:
            keys.create(api_key, extra=audit_trail.change_stamp())
        except (AlreadyExists, Conflict):
            # A 64-bit id collision: astronomically rare, but never overwrite someone's key.
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
            continue
        return IssuedApiKey(api_key=api_key, key=key)
    raise AssertionError("unreachable")


def list_api_keys(db: Client, user_id: str) -> list[ApiKey]:
    """The user's keys, newest first (revoked and expired ones included, marked as such)."""
    return ApiKeyRepository(db).of_user(user_id, limit=MAX_KEYS_LISTED)


def get_api_key(db: Client, user_id: str, key_id: str) -> ApiKey:
    key = ApiKeyRepository(db).get(key_id)
    if key is None or key.user_id != user_id:
        raise ResourceNotFound("API key not found")
    return key


def revoke_api_key(
    db: Client, user_id: str, key_id: str, *, now: Callable[[], datetime] = utc_now
) -> ApiKey:
    """Revokes the key (idempotent: revoking again keeps the first revocation time)."""

    def revoke(uow: UnitOfWork) -> ApiKey:
        key = uow.api_keys.get(key_id)
        if key is None or key.user_id != user_id:
            raise ResourceNotFound("API key not found")
        if key.revoked_at is not None:
            return key
        revoked = key.model_copy(update={"revoked_at": now()})
        uow.api_keys.update(
            key_id, {"revokedAt": revoked.revoked_at, **audit_trail.change_stamp()}
        )
        return revoked

    return run_in_transaction(db, revoke)
