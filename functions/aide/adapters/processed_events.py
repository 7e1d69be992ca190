"""Exactly-once effects for at-least-once events.

`run_once` applies an event's effect and records the event id as processed in the SAME unit of
work, so a redelivered or concurrently delivered event finds the marker and changes nothing.
Every event handler goes through it. Markers expire (expiresAt, Firestore TTL and the
`purge_expired` job) after the longest redelivery window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from aide.adapters.repositories.expiring import ProcessedEventRepository, processed_event_id
from aide.adapters.unit_of_work import REQUEST_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.idempotency import PROCESSED_EVENT_TTL, ProcessedEvent
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference

__all__ = ["RunOnceResult", "marker_ref", "processed_event_id", "run_once", "was_processed"]

T = TypeVar("T")


@dataclass(frozen=True)
class RunOnceResult(Generic[T]):
    ran: bool
    """False when the event had already been processed: the effect was not applied again."""
    value: T | None = None


def marker_ref(db: Client, event_id: str, consumer: str | None = None) -> DocumentReference:
    return ProcessedEventRepository(db).ref(processed_event_id(event_id, consumer))


def run_once(
    db: Client,
    event_id: str,
    fn: Callable[[UnitOfWork], T],
    *,
    consumer: str | None = None,
    ttl: timedelta = PROCESSED_EVENT_TTL,
    now: Callable[[], datetime] = utc_now,
    max_attempts: int = REQUEST_ATTEMPTS,
) -> RunOnceResult[T]:
    """Run `fn(uow)` unless `event_id` was already processed (by `consumer`).

    `fn` runs inside the unit of work (aide.adapters.unit_of_work: reads first, and possibly
    more than once if the transaction retries on contention). Pass `consumer` when one event
    feeds several handlers.
    """
    if not event_id:
        raise ValueError("event_id is required")
    marker_id = processed_event_id(event_id, consumer)

    def apply(uow: UnitOfWork) -> RunOnceResult[T]:
        if uow.processed_events.get(marker_id) is not None:
            return RunOnceResult(ran=False)
        value = fn(uow)
        processed_at = now()
        uow.processed_events.create(
            ProcessedEvent(
                event_id=event_id,
                consumer=consumer or "",
                processed_at=processed_at,
                expires_at=processed_at + ttl,
            )
        )
        return RunOnceResult(ran=True, value=value)

    return run_in_transaction(db, apply, max_attempts=max_attempts)


def was_processed(db: Client, event_id: str, consumer: str | None = None) -> bool:
    return bool(marker_ref(db, event_id, consumer).get().exists)
