"""Audit entries from document changes against the Firestore emulator: one entry per event even
when the same event is handled twice concurrently; the writer's stamp is the actor."""

from __future__ import annotations

import threading
from typing import Any

from aide.domain import collections
from aide.domain.audit_logs import ActorType
from aide.domain.audit_trail import ChangeActor, audit_id_for_event
from aide.services import audit_trail

STAMP = ChangeActor(ActorType.API_KEY, "key_1", "req-9", "10.0.0.1", "cli/1").to_stamp()


def test_a_duplicate_event_writes_one_entry_even_concurrently(fs_client: Any) -> None:
    after = {"userId": "u1", "status": "running", "lastChangedBy": STAMP}
    before = {"userId": "u1", "status": "queued"}
    results: list[bool] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait(timeout=30)
        results.append(
            audit_trail.record_document_change(
                fs_client, "event-1", collections.TASKS, "t1", before, after
            )
        )

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, False, False, False, True]
    entries = [doc.to_dict() for doc in fs_client.collection(collections.AUDIT_LOGS).stream()]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["id"] == audit_id_for_event("event-1")
    assert entry["action"] == "task.transitioned"
    assert (entry["actorType"], entry["actorId"]) == ("api_key", "key_1")
    assert (entry["requestId"], entry["ip"], entry["userAgent"]) == ("req-9", "10.0.0.1", "cli/1")
    assert entry["before"] == {"status": "queued"} and entry["after"] == {"status": "running"}


def test_changes_that_are_not_state_changes_write_nothing(fs_client: Any) -> None:
    task = {"userId": "u1", "status": "running", "progress": 0.1}
    assert not audit_trail.record_document_change(
        fs_client, "event-2", collections.TASKS, "t1", task, {**task, "progress": 0.5}
    )
    user = {"role": "user", "status": "active", "quotas": {"apiCalls": {"used": 1}}}
    assert not audit_trail.record_document_change(
        fs_client, "event-3", collections.USERS, "u1", user, {**user, "quotas": {}}
    )
    assert list(fs_client.collection(collections.AUDIT_LOGS).stream()) == []
