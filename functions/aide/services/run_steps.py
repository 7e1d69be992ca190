"""The writes of a run in progress: each step, each provider retry, the heartbeat.

Each is one unit of work that first re-reads the task and writes only if this very attempt
still owns it (in_progress, same attempt number; RunState.owned): a task that was cancelled, or
swept and claimed again elsewhere, receives no write from this run after its final event. A
step writes its memory node and edges (services.memory_graph), its event and — at most once per
`task_write_min_interval_seconds` — the task's progress, heartbeat, executionGraph and metrics;
the heartbeat thread writes those too when no step did for a while. Step and event ids are
deterministic, so a retried transaction or a resumed attempt writes the same documents again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aide.adapters.unit_of_work import CONTENDED_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.execution_graph import (
    STEP_SUMMARY_CHARS,
    StepRecord,
    estimate_progress,
    step_event_id,
    summarize,
)
from aide.domain.task_events import StreamEventKind, TaskEvent, TokenCounts
from aide.services.memory_graph import write_step, write_task_node
from aide.services.run_state import RunLost, RunState
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from aide.adapters.llm.retries import RetryAttempt
    from aide.domain.agents import Agent

log = get_logger(__name__)


class StepWriter:
    def __init__(self, state: RunState) -> None:
        self.state = state
        self.deps = state.deps

    def owned_transaction(self, work: Callable[[UnitOfWork], None]) -> None:
        """`work` in a unit of work that first checks this attempt still owns the task."""
        state = self.state

        def apply(uow: UnitOfWork) -> None:
            state.owned(uow.tasks.get(state.task.id))
            work(uow)

        with state.lock:
            run_in_transaction(self.deps.db, apply, max_attempts=CONTENDED_ATTEMPTS)

    def commit_step(self, step: StepRecord, done: bool, agent: Agent) -> None:
        state = self.state
        task = state.task
        state.steps.append(step)
        state.steps_run += 1
        state.graph.add_step(step)
        state.progress = max(
            state.progress,
            estimate_progress(step.index, step.text, agent.limits.max_steps, done=done),
        )
        now = self.deps.now()
        tick = self.deps.clock()
        write_task = not done and state.throttle.due(tick)

        def write(uow: UnitOfWork) -> None:
            if step.index == 1:
                write_task_node(uow, task, now)
            node_id = write_step(
                uow,
                task,
                step,
                {"attempt": state.attempt, "model": agent.model, "provider": str(agent.provider)},
                now,
            )
            uow.tasks.save_event(
                TaskEvent(
                    id=step_event_id(step.index),
                    task_id=task.id,
                    kind=StreamEventKind.STEP,
                    message=summarize(step.text, STEP_SUMMARY_CHARS),
                    timestamp=now,
                    sequence=step.index,
                    tokens=TokenCounts(
                        prompt_tokens=step.prompt_tokens,
                        completion_tokens=step.completion_tokens,
                        total_tokens=step.total_tokens,
                    ),
                    data={
                        "step": step.index,
                        "progress": state.progress,
                        "memoryNodeId": node_id,
                        "retries": step.retries,
                        "attempt": state.attempt,
                    },
                )
            )
            if write_task:
                uow.tasks.update(task.id, state.progress_fields(now))

        self.owned_transaction(write)
        if write_task:
            state.throttle.wrote(tick)
        else:
            state.throttle.pending = True

    def record_retry(self, index: int, retry: RetryAttempt) -> None:
        now = self.deps.now()
        event = TaskEvent(
            id=f"{step_event_id(index)}-retry-{retry.attempt}",
            task_id=self.state.task.id,
            kind=StreamEventKind.LOG,
            message=(
                f"step {index}: provider error on attempt {retry.attempt}, retrying in "
                f"{retry.delay_seconds:.1f}s: {retry.error}"
            ),
            timestamp=now,
            data={
                "retry": {
                    "step": index,
                    "attempt": retry.attempt,
                    "delaySeconds": round(retry.delay_seconds, 3),
                    "error": str(retry.error),
                    "statusCode": retry.error.status_code,
                }
            },
        )
        self.owned_transaction(lambda uow: uow.tasks.save_event(event))

    def heartbeat(self, stop: threading.Event) -> None:
        """The heartbeat thread's loop: between throttled step writes, the task's progress and
        heartbeat are written every `heartbeat_interval_seconds` until `stop` is set."""
        state = self.state
        interval = self.deps.settings.heartbeat_interval_seconds
        while not stop.wait(interval):
            tick = self.deps.clock()
            if not state.throttle.due(tick):
                continue
            now = self.deps.now()

            def beat(uow: UnitOfWork, now: datetime = now) -> None:
                uow.tasks.update(state.task.id, state.progress_fields(now))

            try:
                self.owned_transaction(beat)
                state.throttle.wrote(tick)
            except RunLost:
                return
            except Exception:
                # A missed beat is retried at the next interval; the sweeper tolerates several.
                log.warning("task %s: heartbeat write failed", state.task.id, exc_info=True)
