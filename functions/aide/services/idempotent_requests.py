"""`Idempotency-Key` on creates: the same key with the same body within 24 hours returns the
original result and creates nothing; the same key with a different body is a conflict.

The record is read and written in the SAME transaction as the create it guards, so two
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

from aide.domain import collections
from aide.domain.idempotency import IDEMPOTENCY_KEY_TTL, IdempotencyRecord
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, Transaction

MAX_KEY_LENGTH: Final = 255
TRANSACTION_ATTEMPTS: Final = 10


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


def record_ref(db: Client, user_id: str, scope: str, key: str) -> DocumentReference:
    return db.collection(collections.IDEMPOTENCY_KEYS).document(record_id(user_id, scope, key))


def run_idempotent(
    db: Client,
    *,
    user_id: str,
    scope: str,
    key: str | None,
    body: Any,
    create: Callable[[Transaction, datetime], tuple[int, dict[str, Any]]],
    now: Callable[[], datetime] = utc_now,
) -> IdempotentOutcome:
    """Run `create(transaction, now)` — reads first, then writes, all through the transaction —
    unless `key` already recorded a result for this user and scope. `create` returns the status
    code and response data to record. Without a key, `create` simply runs in a transaction."""
    from google.cloud import firestore

    if key is not None:
        validate_key(key)
    fingerprint = request_hash(scope, body)
    ref = record_ref(db, user_id, scope, key) if key is not None else None

    @firestore.transactional
    def apply(transaction: Transaction) -> IdempotentOutcome:
        started = now()
        if ref is not None:
            snapshot = ref.get(transaction=transaction)
            if snapshot.exists:
                record = IdempotencyRecord.from_document(snapshot.to_dict() or {})
                if record.expires_at > started:
                    if record.request_hash != fingerprint:
                        raise IdempotencyKeyReused(record.key)
                    return IdempotentOutcome(record.status_code, record.response_body, True)
        status_code, response = create(transaction, started)
        if ref is not None and key is not None:
            record = IdempotencyRecord(
                id=ref.id,
                user_id=user_id,
                key=key,
                request_hash=fingerprint,
                status_code=status_code,
                response_body=response,
                created_at=started,
                expires_at=started + IDEMPOTENCY_KEY_TTL,
            )
            # set, not create: an expired record of the same key is replaced.
            transaction.set(ref, record.to_document())
        return IdempotentOutcome(status_code, response, False)

    outcome: IdempotentOutcome = apply(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))
    return outcome
