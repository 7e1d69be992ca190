"""Bookkeeping collections whose documents expire (`expiresAt`): processed-event markers and
Idempotency-Key records. Firestore's TTL deletes them in production, late by up to a day and not
at all in emulators; `delete_expired` is what the purge job runs everywhere."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import M, Repository
from aide.domain import collections
from aide.domain.idempotency import IdempotencyRecord, ProcessedEvent


class ExpiringRepository(Repository[M]):
    def delete_expired(self, cutoff: datetime, *, page_size: int) -> int:
        """Deletes one page of documents whose expiresAt is before `cutoff` (one batch); returns
        how many it deleted (fewer than `page_size`: nothing older is left)."""
        query = (
            self.collection.where(filter=FieldFilter("expiresAt", "<", cutoff))
            .order_by("expiresAt")
            .select([])
            .limit(page_size)
        )
        refs = [snapshot.reference for snapshot in query.stream()]
        if not refs:
            return 0
        batch = self.db.batch()
        for ref in refs:
            batch.delete(ref)
        batch.commit()
        return len(refs)


def processed_event_id(event_id: str, consumer: str | None = None) -> str:
    """Document id of a marker. Hashed because event ids may contain '/' or be long."""
    key = f"{consumer or ''}\x00{event_id}"
    return hashlib.sha256(key.encode()).hexdigest()


class ProcessedEventRepository(ExpiringRepository[ProcessedEvent]):
    """processed_events/{hash of consumer and event id}."""

    collection_name: ClassVar[str] = collections.PROCESSED_EVENTS
    model = ProcessedEvent

    def id_of(self, item: ProcessedEvent) -> str:
        return processed_event_id(item.event_id, item.consumer)


class IdempotencyRecordRepository(ExpiringRepository[IdempotencyRecord]):
    collection_name: ClassVar[str] = collections.IDEMPOTENCY_KEYS
    model = IdempotencyRecord
