"""A status change is stamped when its transaction holds the task, not when it started: a change
that waited for another's lock is stamped after it, so events and audit entries sort in commit
order (a reader resuming from a timestamp never misses a later commit)."""

from __future__ import annotations

import threading
import time
from typing import Any

from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain import collections
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.services.task_transitions import StatusChanges, change_status
from tests.integration.test_agent_runtime import queued_task


def test_a_change_that_waited_for_the_task_is_stamped_after_the_one_it_waited_for(
    fs_client: Any,
) -> None:
    queued_task(fs_client, "t1")
    holding = threading.Event()

    def slow_claim(uow: UnitOfWork) -> None:
        changes = StatusChanges(uow)
        task = changes.load(["t1"])[0]  # the task is locked from here until the commit
        holding.set()
        time.sleep(1.0)
        changes.plan(task, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM)
        changes.write()

    claim = threading.Thread(target=run_in_transaction, args=(fs_client, slow_claim))
    claim.start()
    assert holding.wait(timeout=30)
    # Starts while the claim holds the task: it waits, then cancels the claimed task.
    change_status(fs_client, "t1", TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)
    claim.join(timeout=60)

    events = [
        e.to_dict()
        for e in fs_client.collection(collections.TASKS)
        .document("t1")
        .collection("events")
        .stream()
    ]
    moves = [(e["fromStatus"], e["toStatus"]) for e in sorted(events, key=lambda e: e["timestamp"])]
    assert moves == [("queued", "in_progress"), ("in_progress", "cancelled")], moves
    audit = sorted(
        (doc.to_dict() for doc in fs_client.collection(collections.AUDIT_LOGS).stream()),
        key=lambda entry: entry["timestamp"],
    )
    assert [entry["after"]["status"] for entry in audit] == ["in_progress", "cancelled"]
