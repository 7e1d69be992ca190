"""The agent runtime: execute one dispatched task with its agent, step by step.

`execute_dispatched_task(deps, task_id)` is what the dispatch-topic worker runs per message:

1. Admission (services.task_admission): claim exactly once within the user's and the agent's
   concurrency limits, or leave the task queued and waiting for a slot, or skip it (duplicate
   delivery, cancelled); a task whose agent is offline or missing is failed readably. A run that
   loses its task to a cancel gives its slots back at once.
2. Context (services.task_context): inputs, dependencies' outputs, relevant memory, the top
   knowledge hits of the task's project, and the steps a previous attempt already stored — a
   resumed attempt continues after them. The final reply's `learned` facts are written to the
   same knowledge (services.learned_knowledge) before the task completes.
3. Steps: each step is one provider call (transient errors retried with backoff inside the
   step, each retry recorded as an event), then one transaction that re-reads the task and, only
   if this very attempt still owns it (in_progress, same attempt number), writes the step's
   memory node and edges, its event, and — at most once per second — the task's progress,
   heartbeat and executionGraph. Because every write is conditional on that read, a task that
   was cancelled (or swept and re-claimed elsewhere) receives no write from this run after its
   final event. A Firestore listener on the task aborts an in-flight provider call on cancel.
4. End: completed (outputs inline or in Cloud Storage, metrics, graph) or failed with a
   readable error, or requeued for a transient failure while attempts remain — in the same
   transaction as freeing the run slot and re-dispatching the user's oldest waiting task.
   Status changes are stamped as made by `system:agent_runtime` for the audit trail.
5. Charges (services.quota_charges): outputs bound for Cloud Storage are charged to the user's
   storage quota before the upload, once per object path (a retry overwrites the same object and
   is not charged again); a refusal fails the task with a readable quota error. Once the attempt
   is over, whatever its outcome (completed, failed, requeued, or lost to a cancel or a sweep),
   the time it really ran (for a completed or failed task: the `executionTimeMs` written) is
   charged as task minutes once per run (keyed by the claim: attempt and start time), so a
   redelivered message charges nothing and every attempt of a requeued or retried task pays for
   its own time; a completed task also counts in `tasksCompleted`. Not charged: a run refused
   at its claim (task minutes spent, agent missing or offline), and a run whose worker died
   (the sweeper ends it without knowing how long it ran past its last heartbeat).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.llm.retries import RetryAttempt, RetryPolicy, call_with_retries
from aide.adapters.llm.scripted import FINAL_ANSWER_PREFIX
from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.access import ResourceNotFound
from aide.domain.agents import Agent, choose_agent
from aide.domain.execution_graph import (
    INLINE_OUTPUT_LIMIT_BYTES,
    STEP_SUMMARY_CHARS,
    GraphBuilder,
    StepRecord,
    WriteThrottle,
    estimate_progress,
    json_size_bytes,
    memory_usage_bytes,
    step_event_id,
    summarize,
)
from aide.domain.learned_knowledge import LEARNED_INSTRUCTIONS
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    Completion,
    CompletionRequest,
    GenerationOptions,
    ProviderCancelled,
    ProviderError,
    collect_stream,
)
from aide.domain.quota import QuotaExhausted
from aide.domain.task_context import TaskContext
from aide.domain.task_events import StreamEventKind, TaskEvent, TokenCounts
from aide.domain.task_lifecycle import (
    IllegalTransition,
    TaskStatus,
    TransitionReason,
    requeue_or_fail,
)
from aide.domain.tasks import Task, TaskMetrics
from aide.domain.timestamps import utc_now
from aide.services import audit_trail
from aide.services.learned_knowledge import learn_from_task
from aide.services.memory_graph import write_output_node, write_step, write_task_node
from aide.services.output_storage import BlobStore, output_path, place_outputs
from aide.services.quota_charges import charge_storage, charge_task_minutes
from aide.services.task_admission import AdmissionOutcome, admit, plan_release, release
from aide.services.task_context import get_context_for_task
from aide.services.task_transitions import TRANSACTION_ATTEMPTS, TaskUnitOfWork
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client, Transaction

    from aide.adapters.embeddings import Embedder
    from aide.adapters.llm.port import LlmProvider

log = get_logger(__name__)

# Who the audit trail names for the status changes a run makes (claim, end, dependents).
RUNTIME_ACTOR: Final = audit_trail.system_actor("agent_runtime")

CONTINUE_PROMPT: Final = "Continue with the next step."
SYSTEM_PROMPT_SUFFIX: Final = (
    "Work in numbered steps, one per reply, starting each reply with 'Step k/n:'. "
    f"Start the reply that completes the task with '{FINAL_ANSWER_PREFIX}'. " + LEARNED_INSTRUCTIONS
)


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


class _TimedOut(Exception):
    """The agent's or the task's time limit elapsed: the run fails with reason `timeout`."""


def execute_dispatched_task(deps: RuntimeDeps, task_id: str) -> RunReport:
    admission = admit(deps.db, task_id, now=deps.now)
    if admission.outcome is AdmissionOutcome.SKIPPED:
        return RunReport(RunOutcome.SKIPPED, task_id)
    if admission.outcome is AdmissionOutcome.WAITING:
        return RunReport(RunOutcome.WAITING, task_id)
    assert admission.task is not None
    # A refused claim (task minutes spent, agent missing or offline) fails at once, uncharged.
    return TaskRun(deps, admission.task).execute(admission.refusal)


def _step_tokens(metadata: Mapping[str, Any]) -> tuple[int, int]:
    return int(metadata.get("promptTokens", 0)), int(metadata.get("completionTokens", 0))


def build_prompt(context: TaskContext) -> str:
    """The task as the agent's first user message: what to do, then what it has to work with."""
    parts = [f"Task: {context.title}", context.description]
    if context.inputs:
        shown = {key: value for key, value in context.inputs.items() if key != "providerOptions"}
        if shown:
            parts.append(f"Inputs: {shown}")
    for dependency in context.dependencies:
        if dependency.output_ref is not None:
            result = f"(stored output, {dependency.output_ref.size_bytes} bytes)"
        else:
            result = str((dependency.outputs or {}).get("result", dependency.outputs))
        parts.append(f"Output of '{dependency.title}': {summarize(result, 2000)}")
    knowledge = context.knowledge.prompt_section()
    if knowledge is not None:
        parts.append(knowledge)
    return "\n\n".join(parts)


class TaskWatcher:
    """Cancels `cancel` as soon as the task stops being this attempt's (a Firestore listener)."""

    def __init__(self, db: Client, task_id: str, attempt: int, cancel: CancelToken) -> None:
        self._cancel = cancel
        self._attempt = attempt
        self._watch: Any = None
        try:
            self._watch = TaskRepository(db).ref(task_id).on_snapshot(self._on_snapshot)
        except Exception:
            # The step transactions still check ownership; only in-flight aborts are lost.
            log.warning("task listener unavailable; cancellation checked between steps only")

    def _on_snapshot(self, snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        for snapshot in snapshots:
            data = snapshot.to_dict() or {}
            if data.get("status") != TaskStatus.IN_PROGRESS.value:
                self._cancel.cancel(f"task is {data.get('status', 'gone')}")
            elif int(data.get("attempts", 0)) != self._attempt:
                self._cancel.cancel("task was claimed by another attempt")

    def close(self) -> None:
        if self._watch is not None:
            try:
                self._watch.unsubscribe()
            except Exception:
                # Closing a listener must not turn a finished run into a failed one.
                log.warning("could not close the task listener")


class TaskRun:
    """One attempt of one task. Not reusable."""

    def __init__(self, deps: RuntimeDeps, task: Task) -> None:
        self.deps = deps
        self.db = deps.db
        self.task = task
        self.tasks = TaskRepository(deps.db)
        self.attempt = task.attempts
        self.cancel = CancelToken()
        self.throttle = WriteThrottle(deps.settings.task_write_min_interval_seconds)
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

    # The run ----------------------------------------------------------------------------------

    def execute(self, quota_refusal: str | None) -> RunReport:
        report = self._execute(quota_refusal)
        if quota_refusal is None:
            self._charge_minutes(report)
        return report

    def _charge_minutes(self, report: RunReport) -> None:
        metrics = self.final_metrics or self._metrics()
        started = self.task.started_at.isoformat() if self.task.started_at else "unknown"
        try:
            charge_task_minutes(
                self.db,
                self.task.user_id,
                self.task.id,
                metrics.execution_time_ms or 0,
                run_id=f"attempt-{self.attempt}@{started}",
                completed=report.outcome is RunOutcome.COMPLETED,
            )
        except ResourceNotFound:
            # The account is gone (or was never provisioned): there is no quota to charge.
            log.warning("task %s: no user document to charge task minutes to", self.task.id)
        except Exception:
            # The run's result stands; a lost charge is logged, never a reason to redo the run.
            log.exception("task %s: could not charge task minutes", self.task.id)

    def _execute(self, quota_refusal: str | None) -> RunReport:
        stop_heartbeat = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(stop_heartbeat,), name="task-heartbeat", daemon=True
        )
        watcher: TaskWatcher | None = None
        timer: threading.Timer | None = None
        try:
            if quota_refusal is not None:
                return self._fail(quota_refusal, TransitionReason.ERROR)
            agent = self._agent()
            if agent is None:
                return self._fail(
                    f"agent '{self.task.agent_id}' does not exist"
                    if self.task.agent_id
                    else "no agent is available for this task",
                    TransitionReason.ERROR,
                )
            try:
                provider = self.deps.providers(agent)
            except ProviderError as error:
                return self._fail(f"agent misconfigured: {error}", TransitionReason.ERROR)
            timeout = float(agent.limits.timeout_seconds)
            if self.task.timeout_seconds is not None:
                timeout = min(timeout, float(self.task.timeout_seconds))
            timer = threading.Timer(timeout, self.cancel.cancel, args=("timeout",))
            timer.daemon = True
            timer.start()
            watcher = TaskWatcher(self.db, self.task.id, self.attempt, self.cancel)
            heartbeat.start()
            try:
                return self._run_steps(agent, provider, timeout)
            except _TimedOut:
                return self._fail(
                    f"timed out after {timeout:g}s (time limit of the agent or the task)",
                    TransitionReason.TIMEOUT,
                )
        except RunLost:
            self._release_after_loss()
            return self._report(RunOutcome.CANCELLED)
        except Exception as error:
            # Whatever went wrong, the attempt must end in a recorded state, not in_progress.
            log.exception("task %s: run crashed", self.task.id)
            return self._requeue_or_fail(f"internal error: {type(error).__name__}: {error}")
        finally:
            stop_heartbeat.set()
            if timer is not None:
                timer.cancel()
            if watcher is not None:
                watcher.close()
            if heartbeat.is_alive():
                heartbeat.join(timeout=30)

    def _release_after_loss(self) -> None:
        """A run that lost its task (cancelled) gives its run slots back at once — its agent
        goes idle and the next waiting task is re-dispatched — rather than leaving them to be
        reclaimed at the limit. Writes no task document; a re-claimed task keeps its slots."""
        try:
            release(self.db, self.task.user_id, [self.task.id], now=self.deps.now)
        except Exception:
            # Not fatal: admission reclaims the slots of ended runs when a pool is full.
            log.warning("task %s: could not release the run's slots", self.task.id, exc_info=True)

    def _agent(self) -> Agent | None:
        agents = AgentRepository(self.db)
        if self.task.agent_id:
            return agents.get(self.task.agent_id)
        chosen = choose_agent(agents.find(), self.task.title, self.task.description)
        if chosen is not None:
            self.picked_agent_id = chosen.id
        return chosen

    def _run_steps(self, agent: Agent, provider: LlmProvider, timeout: float) -> RunReport:
        context = get_context_for_task(
            self.db,
            self.task,
            probe_steps=agent.limits.max_steps if self.attempt > 1 else 0,
            embedder=self.deps.embedder,
        )
        messages: list[ChatMessage] = [ChatMessage.user(build_prompt(context))]
        self.held_text = len(messages[0].content.encode())
        for node in context.completed_steps():
            if node.step_index != len(self.steps) + 1:
                break  # only a gap-free prefix is a checkpoint
            prompt_tokens, completion_tokens = _step_tokens(node.metadata)
            record = StepRecord(node.step_index, node.content, prompt_tokens, completion_tokens)
            self.steps.append(record)
            self.graph.add_step(record)
            messages += [ChatMessage.assistant(node.content), ChatMessage.user(CONTINUE_PROMPT)]
        if self.steps and self.steps[-1].text.lstrip().startswith(FINAL_ANSWER_PREFIX):
            self._learn(self.steps[-1].text)
            return self._complete(self.steps[-1].text)
        provider_options = self.task.inputs.get("providerOptions")
        system_prompt = f"{agent.system_prompt}\n\n{SYSTEM_PROMPT_SUFFIX}".strip()
        for index in range(len(self.steps) + 1, agent.limits.max_steps + 1):
            self._check_cancel()
            request = CompletionRequest(
                model=agent.model,
                messages=tuple(messages),
                system_prompt=system_prompt,
                options=GenerationOptions(timeout_seconds=timeout),
                provider_options=provider_options if isinstance(provider_options, dict) else {},
            )
            try:
                completion, retries = self._call(provider, request, index)
            except ProviderCancelled:
                self._check_cancel()
                raise
            except ProviderError as error:
                if error.transient:
                    return self._requeue_or_fail(
                        f"step {index}: provider kept failing after {error.attempts} "
                        f"attempts: {error}"
                    )
                return self._fail(f"step {index}: provider error: {error}", TransitionReason.ERROR)
            done = completion.text.lstrip().startswith(FINAL_ANSWER_PREFIX)
            step = StepRecord(
                index,
                completion.text,
                completion.usage.prompt_tokens,
                completion.usage.completion_tokens,
                retries,
            )
            self._commit_step(step, done, agent)
            messages += [ChatMessage.assistant(completion.text), ChatMessage.user(CONTINUE_PROMPT)]
            self.held_text += len(completion.text.encode())
            if done:
                self._learn(completion.text)
                return self._complete(completion.text)
        return self._fail(
            f"the agent used all {agent.limits.max_steps} steps without a final answer",
            TransitionReason.ERROR,
        )

    def _learn(self, final_text: str) -> None:
        """Write the final reply's `learned` facts to the task's knowledge (best effort, before
        the task completes so that a cancelled run learns nothing after its final event)."""
        self._check_cancel()
        learn_from_task(self.db, self.task, final_text, embedder=self.deps.embedder)

    def _check_cancel(self) -> None:
        """Between steps and before each provider call: a timeout fails the task; any other
        cancellation means the task is not ours any more."""
        if not self.cancel.cancelled:
            return
        if self.cancel.reason == "timeout":
            raise _TimedOut()
        raise RunLost()

    def _call(
        self, provider: LlmProvider, request: CompletionRequest, index: int
    ) -> tuple[Completion, int]:
        retries = 0

        def attempt(number: int) -> Completion:
            self._check_cancel()
            started = self.deps.clock()
            try:
                return collect_stream(
                    provider.stream(replace(request, attempt=number), self.cancel)
                )
            finally:
                self.provider_seconds += self.deps.clock() - started

        def on_retry(retry: RetryAttempt) -> None:
            nonlocal retries
            retries += 1
            self.retries += 1
            self._record_retry(index, retry)

        completion = call_with_retries(
            attempt, self.deps.settings.retry_policy, self.cancel, on_retry=on_retry
        )
        return completion, retries

    # Conditional writes ---------------------------------------------------------------------

    def _owned(self, task: Task | None) -> Task:
        if (
            task is None
            or task.status is not TaskStatus.IN_PROGRESS
            or task.attempts != self.attempt
        ):
            self.cancel.cancel("task is no longer this run's")
            raise RunLost()
        return task

    def _transaction(self, fn: Callable[[Transaction], None]) -> None:
        from google.cloud import firestore

        @firestore.transactional
        def apply(transaction: Transaction) -> None:
            self._owned(self.tasks.get(self.task.id, transaction=transaction))
            fn(transaction)

        with self.lock:
            apply(self.db.transaction(max_attempts=TRANSACTION_ATTEMPTS))

    def _progress_fields(self, now: datetime) -> dict[str, Any]:
        return {
            **self._picked_agent_field(),
            "progress": self.progress,
            "heartbeatAt": now,
            "updatedAt": now,
            "executionGraph": self.graph.graph().to_document(),
            "metrics": self._metrics().to_document(),
        }

    def _commit_step(self, step: StepRecord, done: bool, agent: Agent) -> None:
        self.steps.append(step)
        self.steps_run += 1
        self.graph.add_step(step)
        self.progress = max(
            self.progress,
            estimate_progress(step.index, step.text, agent.limits.max_steps, done=done),
        )
        now = self.deps.now()
        tick = self.deps.clock()
        write_task = not done and self.throttle.due(tick)

        def write(transaction: Transaction) -> None:
            if step.index == 1:
                write_task_node(self.db, self.task, now, transaction)
            node_id = write_step(
                self.db,
                self.task,
                step,
                {"attempt": self.attempt, "model": agent.model, "provider": str(agent.provider)},
                now,
                transaction,
            )
            event = TaskEvent(
                id=step_event_id(step.index),
                task_id=self.task.id,
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
                    "progress": self.progress,
                    "memoryNodeId": node_id,
                    "retries": step.retries,
                    "attempt": self.attempt,
                },
            )
            transaction.set(self.tasks.events(self.task.id).document(event.id), event.to_document())
            if write_task:
                self.tasks.update(self.task.id, self._progress_fields(now), writer=transaction)

        self._transaction(write)
        if write_task:
            self.throttle.wrote(tick)
        else:
            self.throttle.pending = True

    def _record_retry(self, index: int, retry: RetryAttempt) -> None:
        now = self.deps.now()
        event = TaskEvent(
            id=f"{step_event_id(index)}-retry-{retry.attempt}",
            task_id=self.task.id,
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
        self._transaction(
            lambda transaction: transaction.set(
                self.tasks.events(self.task.id).document(event.id), event.to_document()
            )
        )

    def _heartbeat(self, stop: threading.Event) -> None:
        interval = self.deps.settings.heartbeat_interval_seconds
        while not stop.wait(interval):
            tick = self.deps.clock()
            if not self.throttle.due(tick):
                continue
            now = self.deps.now()

            def beat(transaction: Transaction, now: datetime = now) -> None:
                self.tasks.update(self.task.id, self._progress_fields(now), writer=transaction)

            try:
                self._transaction(beat)
                self.throttle.wrote(tick)
            except RunLost:
                return
            except Exception:
                # A missed beat is retried at the next interval; the sweeper tolerates several.
                log.warning("task %s: heartbeat write failed", self.task.id, exc_info=True)

    def _picked_agent_field(self) -> dict[str, Any]:
        return {"agentId": self.picked_agent_id} if self.picked_agent_id else {}

    # Endings --------------------------------------------------------------------------------

    def _metrics(self) -> TaskMetrics:
        elapsed_ms = int((self.deps.clock() - self.started) * 1000)
        return TaskMetrics(
            tokens_used=sum(step.total_tokens for step in self.steps),
            execution_time_ms=elapsed_ms,
            step_count=len(self.steps),
            memory_usage_bytes=memory_usage_bytes(*(s.text for s in self.steps)) + self.held_text,
            provider_time_ms=int(self.provider_seconds * 1000),
            retries=self.retries,
        )

    def _report(self, outcome: RunOutcome, error: str | None = None) -> RunReport:
        metrics = self._metrics()
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

    def _complete(self, final_text: str) -> RunReport:
        result = final_text.lstrip()[len(FINAL_ANSWER_PREFIX) :].strip()
        outputs = {"result": result, "steps": len(self.steps)}
        size = json_size_bytes(outputs)
        if size > self.deps.settings.inline_output_limit_bytes:
            try:
                charge_storage(self.db, self.task.user_id, size, output_path(self.task))
            except QuotaExhausted as refused:
                return self._fail(
                    f"Quota exceeded: storage bytes — the output ({size} bytes) does not fit "
                    f"in the storage quota (limit {refused.limit} bytes)",
                    TransitionReason.ERROR,
                )
        placed = place_outputs(
            self.task,
            outputs,
            self.deps.blobs,
            inline_limit=self.deps.settings.inline_output_limit_bytes,
        )
        self.progress = 1.0
        self.graph.finish("completed", output_summary=summarize(result))
        fields: dict[str, Any] = {"outputs": placed.outputs}
        if placed.output_ref is not None:
            fields["outputRef"] = placed.output_ref.to_document()
        output_metadata = {"sizeBytes": placed.size_bytes, "stored": placed.output_ref is not None}

        def extra(transaction: Transaction, now: datetime) -> None:
            write_output_node(self.db, self.task, result, output_metadata, now, transaction)

        self._end(
            lambda _task: (TaskStatus.COMPLETED, TransitionReason.COMPLETE),
            "completed",
            fields,
            extra,
        )
        return self._report(RunOutcome.COMPLETED)

    def _fail(self, error: str, reason: TransitionReason) -> RunReport:
        self.graph.finish("failed")
        self._end(lambda _task: (TaskStatus.FAILED, reason), error, {"error": error})
        return self._report(RunOutcome.FAILED, error)

    def _requeue_or_fail(self, error: str) -> RunReport:
        def decide(task: Task) -> tuple[TaskStatus, TransitionReason]:
            change = requeue_or_fail(
                task.status,
                reason=TransitionReason.TRANSIENT_ERROR,
                attempts=task.attempts,
                max_attempts=task.max_attempts,
            )
            return change.to_status, TransitionReason.TRANSIENT_ERROR

        target = self._end(decide, error, {"error": error})
        if target is TaskStatus.QUEUED:
            return self._report(RunOutcome.REQUEUED, error)
        return self._report(RunOutcome.FAILED, error)

    def _end(
        self,
        decide: Callable[[Task], tuple[TaskStatus, TransitionReason]],
        message: str,
        fields: dict[str, Any],
        extra: Callable[[Transaction, datetime], None] | None = None,
    ) -> TaskStatus:
        """The final status change, its follow-ups, the run's last graph/metrics/progress, the
        slot release and `extra` writes — one transaction, only if this attempt owns the task."""
        from google.cloud import firestore

        @firestore.transactional
        def apply(transaction: Transaction) -> TaskStatus:
            unit = TaskUnitOfWork(self.db, transaction, now=self.deps.now(), actor=RUNTIME_ACTOR)
            task = self._owned(next(iter(unit.load([self.task.id])), None))
            target, reason = decide(task)
            self.final_metrics = self._metrics()
            all_fields = {
                **self._picked_agent_field(),
                **fields,
                "metrics": self.final_metrics.to_document(),
                "executionGraph": self.graph.graph().to_document(),
            }
            if target is TaskStatus.QUEUED:
                # The next attempt resumes from the steps stored so far (memory + graph).
                all_fields = {"executionGraph": all_fields["executionGraph"]}
            else:
                all_fields["progress"] = self.progress
            unit.plan(task, target, reason, message=message, fields=all_fields)
            unit.follow_up(task.id)
            write_release = plan_release(self.db, transaction, task.user_id, [task.id])
            unit.write()
            if extra is not None:
                extra(transaction, unit.now)
            write_release(unit.now)
            return target

        with self.lock:
            try:
                result: TaskStatus = apply(self.db.transaction(max_attempts=TRANSACTION_ATTEMPTS))
            except IllegalTransition as error:
                raise RunLost() from error
        return result
