"""Deleting expired bookkeeping (processed events, idempotency keys) in pages.

Production also has Firestore TTL on `expiresAt` (firestore.indexes.json); TTL deletion can lag
by a day and does not exist in emulators, so this job keeps the collections bounded everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.repositories import IdempotencyRecordRepository, ProcessedEventRepository
from aide.adapters.repositories.expiring import ExpiringRepository
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

EXPIRING: Final[tuple[type[ExpiringRepository[Any]], ...]] = (
    ProcessedEventRepository,
    IdempotencyRecordRepository,
)
PAGE_SIZE: Final = 300


def purge_expired(
    db: Client,
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int = 1000,
) -> dict[str, int]:
    """Deletes documents whose expiresAt is past; returns how many per collection."""
    cutoff = now or utc_now()
    deleted: dict[str, int] = {}
    for repository_type in EXPIRING:
        repository = repository_type(db)
        count = 0
        for _ in range(max_pages):
            page = repository.delete_expired(cutoff, page_size=page_size)
            count += page
            if page < page_size:
                break
        deleted[repository.collection_name] = count
    return deleted
