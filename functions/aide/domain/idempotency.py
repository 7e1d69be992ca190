"""Bookkeeping that makes retried work harmless; both kinds expire (Firestore TTL on expiresAt)."""

from datetime import timedelta
from typing import Any, Final

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now

# Event delivery retries last up to 7 days on Cloud Functions; keep markers a little longer.
PROCESSED_EVENT_TTL: Final = timedelta(days=8)
# The Idempotency-Key contract: the same key within 24 hours replays the first result.
IDEMPOTENCY_KEY_TTL: Final = timedelta(hours=24)


class ProcessedEvent(DocumentModel):
    """processed_events/{id}: this consumer has applied this event's effect."""

    event_id: str
    consumer: str
    processed_at: UtcDateTime = Field(default_factory=utc_now)
    expires_at: UtcDateTime


class IdempotencyRecord(DocumentModel):
    """idempotency_keys/{id}: the first response to a create carrying an Idempotency-Key header."""

    id: str
    user_id: str
    key: str
    request_hash: str
    status_code: int
    response_body: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    expires_at: UtcDateTime
