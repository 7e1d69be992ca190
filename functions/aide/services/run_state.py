"""What the agent runtime's units share about one attempt of one task: its dependencies and
settings, what the attempt has done so far, and how it reports.

The run loop (services.agent_runtime), the step writes (services.run_steps) and the endings
(services.run_endings) each hold the same `RunState`; none of them holds another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aide.adapters.llm.retries import RetryPolicy
from aide.domain.execution_graph import (
    INLINE_OUTPUT_LIMIT_BYTES,
    GraphBuilder,
    StepRecord,
    WriteThrottle,
    memory_usage_bytes,
)
from aide.domain.llm import CancelToken
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import Task, TaskMetrics
from aide.domain.timestamps import utc_now
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.embeddings import Embedder
    from aide.adapters.llm.port import LlmProvider
    from aide.domain.agents import Agent
    from aide.services.output_storage import BlobStore

log = get_logger(__name__)


class RunOutcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    REQUEUED = "requeued"
    CANCELLED = "cancelled"
    WAITING = "waiting"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RuntimeSettings:
    heartbeat_interval_seconds: float = 15.0
    task_write_min_interval_seconds: float = 1.0
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    inline_output_limit_bytes: int = INLINE_OUTPUT_LIMIT_BYTES


@dataclass(frozen=True)
class RuntimeDeps:
    db: Client
    providers: Callable[[Agent], LlmProvider]
    blobs: BlobStore
    settings: RuntimeSettings = field(default_factory=RuntimeSettings)
    now: Callable[[], datetime] = utc_now
    clock: Callable[[], float] = time.monotonic
    # For the task context's knowledge search (None: the process-wide embedder).
    embedder: Embedder | None = None


@dataclass(frozen=True)
class RunReport:
    outcome: RunOutcome
    task_id: str
    steps_run: int = 0
    execution_ms: int = 0
    provider_ms: int = 0
    error: str | None = None


class RunLost(Exception):
    """This attempt no longer owns the task (cancelled, swept, finished elsewhere)."""


class TimedOut(Exception):
    """The agent's or the task's time limit elapsed: the run fails with reason `timeout`."""


class RunState:
    """One attempt of one task: what it has done so far. Not reusable."""

    def __init__(self, deps: RuntimeDeps, task: Task) -> None:
        self.deps = deps
        self.task = task
        self.attempt = task.attempts
        # The claim's moment names this run: a user retry resets `attempts`, so a later claim
        # can carry the same attempt number while a swept run of the earlier one still lives.
        self.claimed_at = task.started_at
        self.cancel = CancelToken()
        self.throttle = WriteThrottle(deps.settings.task_write_min_interval_seconds)
        # Serialises the attempt's transactions (the heartbeat thread writes too).
        self.lock = threading.Lock()
        self.graph = (
            GraphBuilder.resume(task.id, task.execution_graph)
            if task.execution_graph is not None
            else GraphBuilder.start(task.id, task.title, list(task.dependencies))
        )
        self.steps: list[StepRecord] = []
        self.progress = task.progress
        self.started = deps.clock()
        self.provider_seconds = 0.0
        self.retries = 0
        self.steps_run = 0
        self.held_text = 0
        # Set when the task named no agent and the runtime chose one (recorded on the task).
        self.picked_agent_id: str | None = None
        # The metrics the final status change wrote: what the run is charged for.
        self.final_metrics: TaskMetrics | None = None

    def check_cancel(self) -> None:
        """Between steps and before each provider call: a timeout fails the task; any other
        cancellation means the task is not ours any more."""
        if not self.cancel.cancelled:
            return
        if self.cancel.reason == "timeout":
            raise TimedOut()
        raise RunLost()

    def owned(self, task: Task | None) -> Task:
        """`task` (as just read) if this attempt still owns it; RunLost otherwise."""
        if (
            task is None
            or task.status is not TaskStatus.IN_PROGRESS
            or task.attempts != self.attempt
            or task.started_at != self.claimed_at
        ):
            self.cancel.cancel("task is no longer this run's")
            raise RunLost()
        return task

    def metrics(self) -> TaskMetrics:
        elapsed_ms = int((self.deps.clock() - self.started) * 1000)
        return TaskMetrics(
            tokens_used=sum(step.total_tokens for step in self.steps),
            execution_time_ms=elapsed_ms,
            step_count=len(self.steps),
            memory_usage_bytes=memory_usage_bytes(*(s.text for s in self.steps)) + self.held_text,
            provider_time_ms=int(self.provider_seconds * 1000),
            retries=self.retries,
        )

    def picked_agent_field(self) -> dict[str, Any]:
        return {"agentId": self.picked_agent_id} if self.picked_agent_id else {}

    def progress_fields(self, now: datetime) -> dict[str, Any]:
        """What the task document shows of a run in progress (written throttled)."""
        return {
            **self.picked_agent_field(),
            "progress": self.progress,
            "heartbeatAt": now,
            "updatedAt": now,
            "executionGraph": self.graph.graph().to_document(),
            "metrics": self.metrics().to_document(),
        }

    def report(self, outcome: RunOutcome, error: str | None = None) -> RunReport:
        metrics = self.metrics()
        report = RunReport(
            outcome,
            self.task.id,
            steps_run=self.steps_run,
            execution_ms=metrics.execution_time_ms or 0,
            provider_ms=metrics.provider_time_ms or 0,
            error=error,
        )
        log.info(
            "task %s: run %s",
            self.task.id,
            outcome,
            extra={
                "fields": {
                    "taskId": self.task.id,
                    "attempt": self.attempt,
                    "outcome": str(outcome),
                    "stepsRun": self.steps_run,
                    "executionMs": report.execution_ms,
                    "providerMs": report.provider_ms,
                }
            },
        )
        return report
