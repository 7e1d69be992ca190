"""Deleting expired bookkeeping (processed events, idempotency keys) in pages.

Production also has Firestore TTL on `expiresAt` (firestore.indexes.json); TTL deletion can lag
by a day and does not exist in emulators, so this job keeps the collections bounded everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from aide.domain import collections
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

EXPIRING_COLLECTIONS: Final = (collections.PROCESSED_EVENTS, collections.IDEMPOTENCY_KEYS)
PAGE_SIZE: Final = 300


def purge_expired(
    db: Client,
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int = 1000,
) -> dict[str, int]:
    """Deletes documents whose expiresAt is past; returns how many per collection."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    cutoff = now or utc_now()
    deleted: dict[str, int] = {}
    for name in EXPIRING_COLLECTIONS:
        count = 0
        for _ in range(max_pages):
            query = (
                db.collection(name)
                .where(filter=FieldFilter("expiresAt", "<", cutoff))
                .order_by("expiresAt")
                .select([])
                .limit(page_size)
            )
            refs = [snapshot.reference for snapshot in query.stream()]
            if not refs:
                break
            batch = db.batch()
            for ref in refs:
                batch.delete(ref)
            batch.commit()
            count += len(refs)
            if len(refs) < page_size:
                break
        deleted[name] = count
    return deleted
