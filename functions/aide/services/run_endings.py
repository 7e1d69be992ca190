"""How an attempt ends: completed, failed, requeued, or lost — and what it is charged.

The final status change is one unit of work, made only if this attempt still owns the task: the
change with its follow-ups (dependents dispatched or cancelled, group counters;
services.task_transitions), the run's last graph, metrics and progress, the release of its run
slots with the re-dispatch of the next waiting task (services.run_slots.plan_release), and
for a completion its output node in the memory graph. Status changes are stamped as made by
`system:agent_runtime` for the audit trail.

Charges (services.quota_charges): outputs bound for Cloud Storage are charged to the user's
storage quota before the upload, once per object path (a retry overwrites the same object and is
not charged again); a refusal fails the task with a readable quota error. Once the attempt is
over, whatever its outcome (completed, failed, requeued, or lost to a cancel or a sweep), the
time it really ran (for a completed or failed task: the `executionTimeMs` written) is charged as
task minutes once per run (keyed by the claim: attempt and start time), so a redelivered message
charges nothing and every attempt of a requeued or retried task pays for its own time; the
model tokens the attempt's steps used go to the day's `tokensUsed` in the same charge (once per
run); a completed task also counts in `tasksCompleted`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aide.adapters.llm.scripted import FINAL_ANSWER_PREFIX
from aide.adapters.unit_of_work import CONTENDED_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.access import ResourceNotFound
from aide.domain.execution_graph import graph_with_task_status, json_size_bytes, summarize
from aide.domain.quota import QuotaExhausted
from aide.domain.task_lifecycle import (
    IllegalTransition,
    TaskStatus,
    TransitionReason,
    requeue_or_fail,
)
from aide.domain.tasks import Task
from aide.services.memory_graph import write_output_node
from aide.services.output_storage import output_path, place_outputs
from aide.services.quota_charges import charge_storage, charge_task_minutes
from aide.services.run_slots import plan_release
from aide.services.run_state import RunLost, RunOutcome, RunReport, RunState
from aide.services.task_admission import RUNTIME_ACTOR, release
from aide.services.task_transitions import StatusChanges
from aide.structured_logging import get_logger

log = get_logger(__name__)

Decide = Callable[[Task], tuple[TaskStatus, TransitionReason]]
ExtraWrites = Callable[[UnitOfWork, datetime], None]


class RunEndings:
    def __init__(self, state: RunState) -> None:
        self.state = state
        self.deps = state.deps

    def complete(self, final_text: str) -> RunReport:
        state, task = self.state, self.state.task
        result = final_text.lstrip()[len(FINAL_ANSWER_PREFIX) :].strip()
        outputs = {"result": result, "steps": len(state.steps)}
        size = json_size_bytes(outputs)
        inline_limit = self.deps.settings.inline_output_limit_bytes
        if size > inline_limit:
            try:
                charge_storage(self.deps.db, task.user_id, size, output_path(task))
            except QuotaExhausted as refused:
                return self.fail(
                    f"Quota exceeded: storage bytes — the output ({size} bytes) does not fit "
                    f"in the storage quota (limit {refused.limit} bytes)",
                    TransitionReason.ERROR,
                )
        placed = place_outputs(task, outputs, self.deps.blobs, inline_limit=inline_limit)
        state.progress = 1.0
        state.graph.finish("completed", output_summary=summarize(result))
        fields: dict[str, Any] = {"outputs": placed.outputs}
        if placed.output_ref is not None:
            fields["outputRef"] = placed.output_ref.to_document()
        output_metadata = {"sizeBytes": placed.size_bytes, "stored": placed.output_ref is not None}

        def extra(uow: UnitOfWork, now: datetime) -> None:
            write_output_node(uow, task, result, output_metadata, now)

        self._end(
            lambda _task: (TaskStatus.COMPLETED, TransitionReason.COMPLETE),
            "completed",
            fields,
            extra,
        )
        return state.report(RunOutcome.COMPLETED)

    def fail(self, error: str, reason: TransitionReason) -> RunReport:
        self.state.graph.finish("failed")
        self._end(lambda _task: (TaskStatus.FAILED, reason), error, {"error": error})
        return self.state.report(RunOutcome.FAILED, error)

    def requeue_or_fail(self, error: str) -> RunReport:
        def decide(task: Task) -> tuple[TaskStatus, TransitionReason]:
            change = requeue_or_fail(
                task.status,
                reason=TransitionReason.TRANSIENT_ERROR,
                attempts=task.attempts_in_budget,
                max_attempts=task.max_attempts,
            )
            return change.to_status, TransitionReason.TRANSIENT_ERROR

        target = self._end(decide, error, {"error": error})
        if target is TaskStatus.QUEUED:
            return self.state.report(RunOutcome.REQUEUED, error)
        return self.state.report(RunOutcome.FAILED, error)

    def _end(
        self,
        decide: Decide,
        message: str,
        fields: dict[str, Any],
        extra: ExtraWrites | None = None,
    ) -> TaskStatus:
        """The final status change, its follow-ups, the run's last graph/metrics/progress, the
        slot release and `extra` writes — one unit of work, only if this attempt owns the task."""
        state = self.state

        def apply(uow: UnitOfWork) -> TaskStatus:
            changes = StatusChanges(uow, clock=self.deps.now, actor=RUNTIME_ACTOR)
            task = state.owned(next(iter(changes.load([state.task.id])), None))
            target, reason = decide(task)
            state.final_metrics = state.metrics()
            all_fields = {
                **state.picked_agent_field(),
                **fields,
                "metrics": state.final_metrics.to_document(),
                "executionGraph": state.graph.graph().to_document(),
            }
            if target is TaskStatus.QUEUED:
                # The next attempt resumes from the steps stored so far (memory + graph); the
                # graph shows the task queued, as the task is.
                graph = graph_with_task_status(task.id, state.graph.graph(), "queued")
                all_fields = {"executionGraph": graph.to_document()}
            else:
                all_fields["progress"] = state.progress
            changes.plan(task, target, reason, message=message, fields=all_fields)
            changes.follow_up(task.id)
            write_release = plan_release(uow, task.user_id, [task])
            changes.write()
            if extra is not None:
                extra(uow, changes.now)
            write_release(changes.now)
            return target

        with state.lock:
            try:
                return run_in_transaction(self.deps.db, apply, max_attempts=CONTENDED_ATTEMPTS)
            except IllegalTransition as error:
                raise RunLost() from error

    def release_after_loss(self) -> None:
        """A run that lost its task (cancelled) gives its run slots back at once — its agent
        goes idle and the next waiting task is re-dispatched — rather than leaving them to be
        reclaimed at the limit. Writes no task document; a re-claimed task keeps its slots."""
        task = self.state.task
        try:
            release(self.deps.db, task.user_id, [task.id], now=self.deps.now)
        except Exception:
            # Not fatal: admission reclaims the slots of ended runs when a pool is full.
            log.warning("task %s: could not release the run's slots", task.id, exc_info=True)

    def charge_minutes(self, report: RunReport) -> None:
        state, task = self.state, self.state.task
        metrics = state.final_metrics or state.metrics()
        started = task.started_at.isoformat() if task.started_at else "unknown"
        try:
            charge_task_minutes(
                self.deps.db,
                task.user_id,
                task.id,
                metrics.execution_time_ms or 0,
                run_id=f"attempt-{state.attempt}@{started}",
                completed=report.outcome is RunOutcome.COMPLETED,
                tokens=metrics.tokens_used or 0,
            )
        except ResourceNotFound:
            # The account is gone (or was never provisioned): there is no quota to charge.
            log.warning("task %s: no user document to charge task minutes to", task.id)
        except Exception:
            # The run's result stands; a lost charge is logged, never a reason to redo the run.
            log.exception("task %s: could not charge task minutes", task.id)
