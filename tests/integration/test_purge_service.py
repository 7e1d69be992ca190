"""purge_expired against the Firestore emulator: deletes only what expired, across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aide.services.purge import purge_expired

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _put(db: Any, collection: str, doc_id: str, expires_at: datetime) -> None:
    db.collection(collection).document(doc_id).set({"expiresAt": expires_at, "eventId": doc_id})


def test_purge_deletes_expired_documents_in_pages(fs_client: Any) -> None:
    for index in range(7):
        _put(fs_client, "processed_events", f"old-{index}", NOW - timedelta(minutes=index + 1))
    _put(fs_client, "processed_events", "live", NOW + timedelta(minutes=1))
    _put(fs_client, "idempotency_keys", "old", NOW - timedelta(days=2))
    _put(fs_client, "idempotency_keys", "live", NOW + timedelta(hours=3))
    _put(fs_client, "tasks", "untouched", NOW - timedelta(days=9))

    deleted = purge_expired(fs_client, now=NOW, page_size=3)

    assert deleted == {"processed_events": 7, "idempotency_keys": 1}
    assert [doc.id for doc in fs_client.collection("processed_events").stream()] == ["live"]
    assert [doc.id for doc in fs_client.collection("idempotency_keys").stream()] == ["live"]
    assert fs_client.collection("tasks").document("untouched").get().exists
    assert purge_expired(fs_client, now=NOW) == {"processed_events": 0, "idempotency_keys": 0}
