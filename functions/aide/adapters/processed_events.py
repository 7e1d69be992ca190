"""Exactly-once effects for at-least-once events.

`run_once` applies an event's effect and records the event id as processed in the SAME
transaction, so a redelivered or concurrently delivered event finds the marker and changes
nothing. Every event handler goes through it. Markers expire (expiresAt, Firestore TTL and the
`purge_expired` job) after the longest redelivery window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from aide.domain import collections
from aide.domain.idempotency import PROCESSED_EVENT_TTL, ProcessedEvent
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, Transaction

T = TypeVar("T")


@dataclass(frozen=True)
class RunOnceResult(Generic[T]):
    ran: bool
    """False when the event had already been processed: the effect was not applied again."""
    value: T | None = None


def processed_event_id(event_id: str, consumer: str | None = None) -> str:
    """Document id of the marker. Hashed because event ids may contain '/' or be long."""
    key = f"{consumer or ''}\x00{event_id}"
    return hashlib.sha256(key.encode()).hexdigest()


def marker_ref(db: Client, event_id: str, consumer: str | None = None) -> DocumentReference:
    return db.collection(collections.PROCESSED_EVENTS).document(
        processed_event_id(event_id, consumer)
    )


def run_once(
    db: Client,
    event_id: str,
    fn: Callable[[Transaction], T],
    *,
    consumer: str | None = None,
    ttl: timedelta = PROCESSED_EVENT_TTL,
    now: Callable[[], datetime] = utc_now,
    max_attempts: int = 10,
) -> RunOnceResult[T]:
    """Run `fn(transaction)` unless `event_id` was already processed (by `consumer`).

    `fn` must do its Firestore reads and writes through the transaction it is given (reads
    first), and may be called more than once if the transaction retries on contention — so any
    side effect outside Firestore in it must be harmless to repeat (e.g. a publish whose
    consumer is itself idempotent). Pass `consumer` when one event feeds several handlers.
    """
    from google.cloud import firestore

    if not event_id:
        raise ValueError("event_id is required")
    ref = marker_ref(db, event_id, consumer)

    @firestore.transactional
    def apply(transaction: Transaction) -> RunOnceResult[T]:
        if ref.get(transaction=transaction).exists:
            return RunOnceResult(ran=False)
        value = fn(transaction)
        processed_at = now()
        marker = ProcessedEvent(
            event_id=event_id,
            consumer=consumer or "",
            processed_at=processed_at,
            expires_at=processed_at + ttl,
        )
        transaction.create(ref, marker.to_document())
        return RunOnceResult(ran=True, value=value)

    result: RunOnceResult[T] = apply(db.transaction(max_attempts=max_attempts))
    return result


def was_processed(db: Client, event_id: str, consumer: str | None = None) -> bool:
    return bool(marker_ref(db, event_id, consumer).get().exists)
