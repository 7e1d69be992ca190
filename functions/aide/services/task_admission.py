"""Admitting a dispatched task to run: claim it exactly once, within the user's limits.

`admit` is one transaction: it reads the task, the user's slots (domain.task_slots), the user
and the plans, then either claims the task (queued → in_progress, via the task unit of work, so
the claim's event and group counters commit with it) and takes a slot, or leaves it queued and
adds it to the waiting list. A task that is not queued any more (a duplicate or concurrent
delivery, a cancelled task) is skipped without a write.

`release` gives the slot back when a run ends and, in the same transaction, re-dispatches the
oldest waiting task that is still queued (a fresh outbox record → a new dispatch message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aide.adapters.repositories.system_config import PlansRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.adapters.repositories.users import UserRepository
from aide.domain import collections
from aide.domain.task_events import StreamEventKind, TaskEvent
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.task_slots import TaskSlots
from aide.domain.tasks import Task
from aide.domain.timestamps import utc_now
from aide.services.task_transitions import (
    TRANSACTION_ATTEMPTS,
    TaskUnitOfWork,
    write_dispatch_record,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, Transaction

    from aide.domain.users import User

# Waiting tasks looked at when a slot frees; ones cancelled meanwhile are dropped on the way.
_WAITING_LOOKAHEAD: Final = 10


class AdmissionOutcome(StrEnum):
    CLAIMED = "claimed"
    WAITING = "waiting"
    """No free slot: the task stays queued and is re-dispatched when one frees."""
    SKIPPED = "skipped"
    """Not queued (already claimed by another delivery, cancelled, …) or gone: do nothing."""


@dataclass(frozen=True)
class Admission:
    outcome: AdmissionOutcome
    task: Task | None
    quota_refusal: str | None = None
    """Set on a claim whose user has no task minutes left: the run must fail at once."""


def slots_ref(db: Client, user_id: str) -> DocumentReference:
    return db.collection(collections.TASK_SLOTS).document(user_id)


def _load_slots(db: Client, user_id: str, transaction: Transaction) -> TaskSlots:
    snapshot = slots_ref(db, user_id).get(transaction=transaction)
    if snapshot.exists:
        return TaskSlots.from_document(snapshot.to_dict() or {})
    return TaskSlots(user_id=user_id)


def task_minutes_refusal(user: User | None, now: datetime) -> str | None:
    """Why the user may not start a task now (task-minute quota spent), or None.

    The quota feature keeps `quotas.taskMinutes` current and charges real execution time; a
    counter whose reset time has passed counts as renewed until the reset job rewrites it.
    """
    if user is None:
        return None
    quota = user.quotas.task_minutes
    if quota.reset is not None and quota.reset <= now:
        return None
    if quota.used < quota.limit:
        return None
    reset = f"; it resets at {quota.reset.isoformat()}" if quota.reset is not None else ""
    return f"Quota exceeded: task minutes ({quota.used:g} of {quota.limit} used this period{reset})"


def admit(db: Client, task_id: str, *, now: Callable[[], datetime] = utc_now) -> Admission:
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Transaction) -> Admission:
        unit = TaskUnitOfWork(db, transaction, now=now())
        found = unit.load([task_id])
        if not found or found[0].status is not TaskStatus.QUEUED:
            return Admission(AdmissionOutcome.SKIPPED, found[0] if found else None)
        task = found[0]
        slots = _load_slots(db, task.user_id, transaction)
        user = UserRepository(db).get(task.user_id, transaction=transaction)
        plans = PlansRepository(db).load(transaction=transaction)
        plan = plans.plan(user.subscription.plan if user is not None else str(plans.default_plan))
        if not slots.has_free_slot(task.id, plan.concurrent_tasks):
            # Self-healing at the limit: a slot whose run ended without releasing it (its
            # worker died after a cancel) is reclaimed here, where it matters.
            holders = TaskRepository(db).get_many(list(slots.running), transaction=transaction)
            alive = {t.id for t in holders if t.status is TaskStatus.IN_PROGRESS}
            slots = slots.without(set(slots.running) - alive)
        if not slots.has_free_slot(task.id, plan.concurrent_tasks):
            if task.id not in slots.waiting:
                _save_slots(db, slots.with_waiting(task.id), unit.now, transaction)
                TaskRepository(db).add_event(
                    TaskEvent(
                        id=TaskRepository(db).new_event_id(task.id),
                        task_id=task.id,
                        kind=StreamEventKind.LOG,
                        message=(
                            f"waiting for a free run slot ({len(slots.running)} of "
                            f"{plan.concurrent_tasks} in use)"
                        ),
                        timestamp=unit.now,
                        data={"waiting": True, "concurrentTasks": plan.concurrent_tasks},
                    ),
                    writer=transaction,
                )
            return Admission(AdmissionOutcome.WAITING, task)
        unit.plan(task, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, message="claimed")
        unit.write()
        _save_slots(db, slots.with_running(task.id), unit.now, transaction)
        claimed = task.model_copy(
            update={
                "status": TaskStatus.IN_PROGRESS,
                "attempts": task.attempts + 1,
                "started_at": unit.now,
                "heartbeat_at": unit.now,
            }
        )
        return Admission(
            AdmissionOutcome.CLAIMED, claimed, quota_refusal=task_minutes_refusal(user, unit.now)
        )

    result: Admission = apply(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))
    return result


def plan_release(
    db: Client, transaction: Transaction, user_id: str, task_ids: list[str]
) -> Callable[[datetime], str | None]:
    """The reads of a release inside `transaction`; returns the function that writes it (call
    it after every other read of the transaction). The writer returns the id of the waiting
    task it re-dispatched, if any."""
    tasks = TaskRepository(db)
    slots = _load_slots(db, user_id, transaction).without(task_ids)
    head = slots.waiting[:_WAITING_LOOKAHEAD]
    still_queued = {
        task.id: task
        for task in tasks.get_many(head, transaction=transaction)
        if task.status is TaskStatus.QUEUED
    }
    # Waiting entries that are no longer queued (cancelled, claimed by a redelivery) go.
    slots = slots.without(set(head) - set(still_queued))
    chosen = next((task_id for task_id in slots.waiting if task_id in still_queued), None)

    def write(now: datetime) -> str | None:
        _save_slots(db, slots, now, transaction)
        if chosen is not None:
            # It stays in `waiting` until its claim: if the slot is taken again meanwhile, it
            # keeps its place at the head of the line.
            write_dispatch_record(db, transaction, still_queued[chosen], tasks.new_id(), now)
        return chosen

    return write


def release(
    db: Client, user_id: str, task_ids: list[str], *, now: Callable[[], datetime] = utc_now
) -> str | None:
    """Free the slots of `task_ids` (runs that ended) and re-dispatch the oldest waiting task
    still queued. Returns the id of the task re-dispatched, if any. Safe to repeat."""
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Transaction) -> str | None:
        return plan_release(db, transaction, user_id, task_ids)(now())

    result: str | None = apply(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))
    return result


def _save_slots(db: Client, slots: TaskSlots, now: datetime, transaction: Transaction) -> None:
    transaction.set(
        slots_ref(db, slots.user_id), slots.model_copy(update={"updated_at": now}).to_document()
    )
