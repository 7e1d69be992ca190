"""Driving a dispatched task through its run by hand — claim, complete, fail — for tests and
benchmarks that run the task services without the agent runtime (on the in-process emulator no
runtime consumes dispatches). Each is one status change with its follow-ups, exactly as the
runtime makes it (aide.services.task_transitions): completing a task dispatches the dependents
it was the last unmet dependency of, failing one cancels its dependents, and a repeated call is
a no-op (`ChangeResult.is_noop`)."""

from __future__ import annotations

from typing import Any

from aide.domain.task_lifecycle import FAILURE_REASONS, TaskStatus, TransitionReason
from aide.services.task_transitions import ChangeResult, change_status


def claim_task(db: Any, task_id: str) -> ChangeResult:
    """queued → in_progress for one attempt (attempts + 1, heartbeat stamped). A no-op result
    means another delivery already claimed it."""
    return change_status(
        db, task_id, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, message="claimed"
    )


def complete_task(db: Any, task_id: str, *, outputs: dict[str, Any] | None = None) -> ChangeResult:
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
    db: Any, task_id: str, *, error: str, reason: TransitionReason = TransitionReason.ERROR
) -> ChangeResult:
    """in_progress → failed for good (`error` is recorded); dependents are cancelled."""
    if reason not in FAILURE_REASONS:
        raise ValueError(f"'{reason}' is not a failure reason")
    return change_status(
        db, task_id, TaskStatus.FAILED, reason, message=error, fields={"error": error}
    )
