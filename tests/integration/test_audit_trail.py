"""Audit entries against the Firestore emulator: task changes commit their own entry; other
document changes get one entry per trigger event even when the same event is handled twice
concurrently; the writer's stamp is the actor."""

from __future__ import annotations

import threading
from typing import Any

from aide.domain import collections
from aide.domain.audit_logs import ActorType
from aide.domain.audit_trail import ChangeActor, audit_id_for_change, audit_id_for_event
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.services import audit_trail
from aide.services.task_transitions import change_status
from tests.integration.test_agent_runtime import queued_task

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


def test_a_status_change_commits_its_own_entry_and_the_trigger_adds_none(fs_client: Any) -> None:
    # Written with the change, the entry survives a trigger delivery that is lost or whose
    # functions instance dies; a delivery that does arrive finds the change id and writes nothing.
    queued_task(fs_client, "t1")
    before = fs_client.collection(collections.TASKS).document("t1").get().to_dict()
    actor = ChangeActor(ActorType.SYSTEM, "system:agent_runtime")
    change_status(fs_client, "t1", TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, actor=actor)
    after = fs_client.collection(collections.TASKS).document("t1").get().to_dict()
    change_id = after["lastChangedBy"]["changeId"]
    entries = [doc.to_dict() for doc in fs_client.collection(collections.AUDIT_LOGS).stream()]
    assert [e["id"] for e in entries] == [audit_id_for_change(change_id)]
    assert entries[0]["action"] == "task.transitioned"
    assert entries[0]["actorId"] == "system:agent_runtime"
    assert entries[0]["before"]["status"] == "queued"
    assert entries[0]["after"]["status"] == "in_progress"

    assert not audit_trail.record_document_change(
        fs_client, "event-4", collections.TASKS, "t1", before, after
    )
    assert len(list(fs_client.collection(collections.AUDIT_LOGS).stream())) == 1


def test_a_change_whose_writer_wrote_no_entry_is_still_audited_by_the_trigger(
    fs_client: Any,
) -> None:
    # E.g. an edit made in the console: the old stamp (and its change id) stays on the document.
    stamped = {"userId": "u1", "status": "queued", "lastChangedBy": {**STAMP, "changeId": "c1"}}
    assert audit_trail.record_document_change(
        fs_client, "event-5", collections.TASKS, "t1", stamped, {**stamped, "status": "failed"}
    )
    entries = [doc.to_dict() for doc in fs_client.collection(collections.AUDIT_LOGS).stream()]
    assert [e["id"] for e in entries] == [audit_id_for_event("event-5")]
