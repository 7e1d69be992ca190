"""The stale-task sweeper: runs whose heartbeat stopped are presumed dead and ended.

A running task's heartbeat (`heartbeatAt`) is refreshed by its run at least every
RuntimeSettings.heartbeat_interval_seconds. One older than `stale_after` means the worker died
(killed instance, crash past the runtime's own handling). Each such task, in its own transaction
that re-checks the heartbeat, goes back to `queued` while attempts remain — the next attempt
resumes after the steps already stored — or to `failed` with reason `heartbeat_lost`; its run
slot is freed and the user's oldest waiting task re-dispatched, as when a run ends normally.

Query: tasks where status == in_progress and heartbeatAt < cutoff (composite index
status + heartbeatAt in firestore.indexes.json), paged, so the cost is proportional to the
stale tasks, not to all tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from aide.adapters.repositories.tasks import TaskRepository
from aide.adapters.unit_of_work import CONTENDED_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.task_lifecycle import TaskStatus, TransitionReason, requeue_or_fail
from aide.domain.timestamps import utc_now
from aide.services import audit_trail
from aide.services.run_slots import plan_release
from aide.services.task_transitions import StatusChanges

if TYPE_CHECKING:
    from google.cloud.firestore import Client

# Several missed heartbeats (RuntimeSettings: every 15 s) before a run counts as dead.
DEFAULT_STALE_AFTER: Final = timedelta(minutes=2)
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 50
# Who the audit trail names for the requeues and failures of swept runs.
SWEEPER_ACTOR: Final = audit_trail.system_actor("stale_task_sweeper")


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def find_stale(db: Client, cutoff: datetime, *, limit: int = PAGE_SIZE) -> list[str]:
    return TaskRepository(db).stale_in_progress(cutoff, limit=limit)


def sweep_task(
    db: Client, task_id: str, cutoff: datetime, now: Callable[[], datetime] = utc_now
) -> TaskStatus | None:
    """End one stale run; None when it is not stale any more (a heartbeat arrived meanwhile)."""

    def apply(uow: UnitOfWork) -> TaskStatus | None:
        # Stamped in this transaction, once the task is read (StatusChanges.now), not at the
        # sweep's start: a page of stale tasks takes a while.
        changes = StatusChanges(uow, clock=now, actor=SWEEPER_ACTOR)
        found = changes.load([task_id])
        if not found:
            return None
        task = found[0]
        if task.status is not TaskStatus.IN_PROGRESS or (
            task.heartbeat_at is not None and task.heartbeat_at >= cutoff
        ):
            return None
        change = requeue_or_fail(
            task.status,
            reason=TransitionReason.HEARTBEAT_LOST,
            attempts=task.attempts_in_budget,
            max_attempts=task.max_attempts,
        )
        silent = "never" if task.heartbeat_at is None else task.heartbeat_at.isoformat()
        message = f"heartbeat lost (last at {silent}); attempt {task.attempts}"
        fields = (
            {"error": f"the run stopped responding: {message}"}
            if change.to_status is TaskStatus.FAILED
            else {}
        )
        changes.plan(
            task, change.to_status, TransitionReason.HEARTBEAT_LOST, message=message, fields=fields
        )
        changes.follow_up(task.id)
        write_release = plan_release(uow, task.user_id, [task])
        changes.write()
        write_release(changes.now)
        return change.to_status

    return run_in_transaction(db, apply, max_attempts=CONTENDED_ATTEMPTS)


def sweep_stale_tasks(
    db: Client,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    now: Callable[[], datetime] = utc_now,
) -> SweepReport:
    """Safe to run concurrently or twice: each task's end re-checks it in its transaction."""
    report = SweepReport()
    for _ in range(MAX_PAGES):
        at = now()
        stale = find_stale(db, at - stale_after)
        if not stale:
            break
        for task_id in stale:
            status = sweep_task(db, task_id, at - stale_after, now)
            if status is TaskStatus.QUEUED:
                report.requeued.append(task_id)
            elif status is TaskStatus.FAILED:
                report.failed.append(task_id)
        if len(stale) < PAGE_SIZE:
            break
    return report
