"""Moving a dispatched task through its run: claim, complete, fail, requeue.

The agent runtime (a later feature) calls these; until it exists, tests drive tasks with them.
Each is one transaction with every follow-up (services.task_transitions): completing a task
dispatches the dependents it was the last unmet dependency of, failing one cancels its
dependents. A repeated call (a redelivered message) is a no-op: `ChangeResult.is_noop`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aide.domain.task_lifecycle import (
    FAILURE_REASONS,
    REQUEUE_REASONS,
    TaskStatus,
    TransitionReason,
    requeue_or_fail,
)
from aide.services.task_transitions import (
    ChangeResult,
    TaskNotFound,
    TaskUnitOfWork,
    change_status,
    run_unit_of_work,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.domain.tasks import Task


def claim_task(db: Client, task_id: str) -> ChangeResult:
    """queued → in_progress for one attempt (attempts + 1, heartbeat stamped). A no-op result
    means another delivery already claimed it: do not run the task."""
    return change_status(
        db, task_id, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, message="claimed"
    )


def complete_task(
    db: Client, task_id: str, *, outputs: dict[str, Any] | None = None
) -> ChangeResult:
    """in_progress → completed with its outputs; ready dependents are dispatched."""
    fields: dict[str, Any] = {"progress": 1.0}
    if outputs is not None:
        fields["outputs"] = outputs
    return change_status(
        db,
        task_id,
        TaskStatus.COMPLETED,
        TransitionReason.COMPLETE,
        message="completed",
        fields=fields,
    )


def fail_task(
    db: Client, task_id: str, *, error: str, reason: TransitionReason = TransitionReason.ERROR
) -> ChangeResult:
    """in_progress → failed for good (`error` is recorded); dependents are cancelled. For a
    failure worth another attempt use `requeue_or_fail_task`."""
    if reason not in FAILURE_REASONS:
        raise ValueError(f"'{reason}' is not a failure reason")
    return change_status(
        db, task_id, TaskStatus.FAILED, reason, message=error, fields={"error": error}
    )


def requeue_or_fail_task(
    db: Client, task_id: str, *, error: str, reason: TransitionReason
) -> ChangeResult:
    """A run ended without a result (heartbeat lost, transient error): back to `queued` while
    attempts remain, else failed (task_lifecycle.requeue_or_fail)."""
    if reason not in REQUEUE_REASONS:
        raise ValueError(f"'{reason}' is not a reason to requeue")

    def plan(unit: TaskUnitOfWork) -> Task:
        found = unit.load([task_id])
        if not found:
            raise TaskNotFound(task_id)
        task = found[0]
        change = requeue_or_fail(
            task.status, reason=reason, attempts=task.attempts, max_attempts=task.max_attempts
        )
        fields = {"error": error} if change.to_status is TaskStatus.FAILED else {}
        if not unit.plan(task, change.to_status, reason, message=error, fields=fields).is_noop:
            unit.follow_up(task.id)
        return task

    return run_unit_of_work(db, plan)
