"""`Idempotency-Key` on creates: the same key with the same body within 24 hours returns the
original result and creates nothing; the same key with a different body is a conflict.

The record is read and written in the SAME unit of work as the create it guards, so two
concurrent requests with one key cannot both create: one commits, the other's transaction is
retried, finds the record and replays it. Keys are per user and per operation (`scope`), and
the body is compared by a hash of its validated form (key order and whitespace do not matter).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.unit_of_work import REQUEST_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.idempotency import IDEMPOTENCY_KEY_TTL, IdempotencyRecord
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

MAX_KEY_LENGTH: Final = 255


class InvalidIdempotencyKey(ValueError):
    """The header is empty, too long or not printable ASCII (400)."""


class IdempotencyKeyReused(Exception):
    """The key was used within 24 hours with a different body (409)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            "Idempotency-Key was already used with a different request body within 24 hours"
        )


@dataclass(frozen=True)
class IdempotentOutcome:
    status_code: int
    body: dict[str, Any]
    """The response `data` (the original one when replayed)."""
    replayed: bool


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not all(32 < ord(c) < 127 for c in key):
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces"
        )
    return key


def request_hash(scope: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{scope}\x00{canonical}".encode()).hexdigest()


def record_id(user_id: str, scope: str, key: str) -> str:
    # Hashed: keys may contain '/', and the id must not reveal them.
    return hashlib.sha256(f"{user_id}\x00{scope}\x00{key}".encode()).hexdigest()


def run_idempotent(
    db: Client,
    *,
    user_id: str,
    scope: str,
    key: str | None,
    body: Any,
    create: Callable[[UnitOfWork, datetime], tuple[int, dict[str, Any]]],
    now: Callable[[], datetime] = utc_now,
) -> IdempotentOutcome:
    """Run `create(uow, now)` — reads first, then writes, all through the unit of work — unless
    `key` already recorded a result for this user and scope. `create` returns the status code
    and response data to record. Without a key, `create` simply runs in a unit of work."""
    if key is not None:
        validate_key(key)
    fingerprint = request_hash(scope, body)
    doc_id = record_id(user_id, scope, key) if key is not None else None

    def apply(uow: UnitOfWork) -> IdempotentOutcome:
        started = now()
        if doc_id is not None:
            record = uow.idempotency_records.get(doc_id)
            if record is not None and record.expires_at > started:
                if record.request_hash != fingerprint:
                    raise IdempotencyKeyReused(record.key)
                return IdempotentOutcome(record.status_code, record.response_body, True)
        status_code, response = create(uow, started)
        if doc_id is not None and key is not None:
            record = IdempotencyRecord(
                id=doc_id,
                user_id=user_id,
                key=key,
                request_hash=fingerprint,
                status_code=status_code,
                response_body=response,
                created_at=started,
                expires_at=started + IDEMPOTENCY_KEY_TTL,
            )
            # save, not create: an expired record of the same key is replaced.
            uow.idempotency_records.save(record)
        return IdempotentOutcome(status_code, response, False)

    return run_in_transaction(db, apply, max_attempts=REQUEST_ATTEMPTS)
