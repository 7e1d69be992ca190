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
3. Steps (this module's run loop): each step is one provider call (transient errors retried
   with backoff inside the step, each retry recorded as an event), then one conditional write
   (services.run_steps). A Firestore listener on the task (aide.adapters.task_watcher) aborts an
   in-flight provider call on cancel; a timer does so at the time limit.
4. End (services.run_endings): completed (outputs inline or in Cloud Storage, metrics, graph) or
   failed with a readable error, or requeued for a transient failure while attempts remain — in
   the same unit of work as freeing the run slot and re-dispatching the oldest waiting task.
5. Charges (services.run_endings): storage for large outputs, then the task minutes the attempt
   really ran, once per run. Not charged: a run refused at its claim (task minutes spent, agent
   missing or offline), and a run whose worker died (the sweeper ends it without knowing how
   long it ran past its last heartbeat).

The attempt's shared state (timings, steps, graph, the cancel token) is services.run_state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.llm.retries import RetryAttempt, call_with_retries
from aide.adapters.llm.scripted import FINAL_ANSWER_PREFIX
from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.task_watcher import TaskWatcher
from aide.domain.agents import Agent, choose_agent
from aide.domain.execution_graph import StepRecord, summarize
from aide.domain.learned_knowledge import LEARNED_INSTRUCTIONS
from aide.domain.llm import (
    ChatMessage,
    Completion,
    CompletionRequest,
    GenerationOptions,
    ProviderCancelled,
    ProviderError,
    collect_stream,
)
from aide.domain.task_context import TaskContext
from aide.domain.task_lifecycle import TransitionReason
from aide.domain.tasks import Task
from aide.services.learned_knowledge import learn_from_task
from aide.services.run_endings import RunEndings
from aide.services.run_state import (
    RunLost,
    RunOutcome,
    RunReport,
    RunState,
    RuntimeDeps,
    RuntimeSettings,
    TimedOut,
)
from aide.services.run_steps import StepWriter
from aide.services.task_admission import AdmissionOutcome, admit
from aide.services.task_context import get_context_for_task
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from aide.adapters.llm.port import LlmProvider

__all__ = [
    "RunOutcome",
    "RunReport",
    "RuntimeDeps",
    "RuntimeSettings",
    "TaskRun",
    "build_prompt",
    "execute_dispatched_task",
]

log = get_logger(__name__)

CONTINUE_PROMPT: Final = "Continue with the next step."
SYSTEM_PROMPT_SUFFIX: Final = (
    "Work in numbered steps, one per reply, starting each reply with 'Step k/n:'. "
    f"Start the reply that completes the task with '{FINAL_ANSWER_PREFIX}'. " + LEARNED_INSTRUCTIONS
)


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


class TaskRun:
    """One attempt of one task: the run loop. Not reusable."""

    def __init__(self, deps: RuntimeDeps, task: Task) -> None:
        self.deps = deps
        self.state = RunState(deps, task)
        self.steps = StepWriter(self.state)
        self.endings = RunEndings(self.state)

    def execute(self, quota_refusal: str | None) -> RunReport:
        report = self._execute(quota_refusal)
        if quota_refusal is None:
            self.endings.charge_minutes(report)
        return report

    def _execute(self, quota_refusal: str | None) -> RunReport:
        state = self.state
        stop_heartbeat = threading.Event()
        heartbeat = threading.Thread(
            target=self.steps.heartbeat, args=(stop_heartbeat,), name="task-heartbeat", daemon=True
        )
        watcher: TaskWatcher | None = None
        timer: threading.Timer | None = None
        try:
            if quota_refusal is not None:
                return self.endings.fail(quota_refusal, TransitionReason.ERROR)
            agent = self._agent()
            if agent is None:
                return self.endings.fail(
                    f"agent '{state.task.agent_id}' does not exist"
                    if state.task.agent_id
                    else "no agent is available for this task",
                    TransitionReason.ERROR,
                )
            try:
                provider = self.deps.providers(agent)
            except ProviderError as error:
                return self.endings.fail(f"agent misconfigured: {error}", TransitionReason.ERROR)
            timeout = float(agent.limits.timeout_seconds)
            if state.task.timeout_seconds is not None:
                timeout = min(timeout, float(state.task.timeout_seconds))
            timer = threading.Timer(timeout, state.cancel.cancel, args=("timeout",))
            timer.daemon = True
            timer.start()
            watcher = TaskWatcher(self.deps.db, state.task.id, state.attempt, state.cancel)
            heartbeat.start()
            try:
                return self._run_steps(agent, provider, timeout)
            except TimedOut:
                return self.endings.fail(
                    f"timed out after {timeout:g}s (time limit of the agent or the task)",
                    TransitionReason.TIMEOUT,
                )
        except RunLost:
            self.endings.release_after_loss()
            return state.report(RunOutcome.CANCELLED)
        except Exception as error:
            # Whatever went wrong, the attempt must end in a recorded state, not in_progress.
            log.exception("task %s: run crashed", state.task.id)
            return self.endings.requeue_or_fail(f"internal error: {type(error).__name__}: {error}")
        finally:
            stop_heartbeat.set()
            if timer is not None:
                timer.cancel()
            if watcher is not None:
                watcher.close()
            if heartbeat.is_alive():
                heartbeat.join(timeout=30)

    def _agent(self) -> Agent | None:
        task = self.state.task
        agents = AgentRepository(self.deps.db)
        if task.agent_id:
            return agents.get(task.agent_id)
        chosen = choose_agent(agents.find(), task.title, task.description)
        if chosen is not None:
            self.state.picked_agent_id = chosen.id
        return chosen

    def _run_steps(self, agent: Agent, provider: LlmProvider, timeout: float) -> RunReport:
        state = self.state
        context = get_context_for_task(
            self.deps.db,
            state.task,
            probe_steps=agent.limits.max_steps if state.attempt > 1 else 0,
            embedder=self.deps.embedder,
        )
        messages: list[ChatMessage] = [ChatMessage.user(build_prompt(context))]
        state.held_text = len(messages[0].content.encode())
        for node in context.completed_steps():
            if node.step_index != len(state.steps) + 1:
                break  # only a gap-free prefix is a checkpoint
            prompt_tokens, completion_tokens = _step_tokens(node.metadata)
            record = StepRecord(node.step_index, node.content, prompt_tokens, completion_tokens)
            state.steps.append(record)
            state.graph.add_step(record)
            messages += [ChatMessage.assistant(node.content), ChatMessage.user(CONTINUE_PROMPT)]
        if state.steps and state.steps[-1].text.lstrip().startswith(FINAL_ANSWER_PREFIX):
            self._learn(state.steps[-1].text)
            return self.endings.complete(state.steps[-1].text)
        provider_options = state.task.inputs.get("providerOptions")
        system_prompt = f"{agent.system_prompt}\n\n{SYSTEM_PROMPT_SUFFIX}".strip()
        for index in range(len(state.steps) + 1, agent.limits.max_steps + 1):
            state.check_cancel()
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
                state.check_cancel()
                raise
            except ProviderError as error:
                if error.transient:
                    return self.endings.requeue_or_fail(
                        f"step {index}: provider kept failing after {error.attempts} "
                        f"attempts: {error}"
                    )
                return self.endings.fail(
                    f"step {index}: provider error: {error}", TransitionReason.ERROR
                )
            done = completion.text.lstrip().startswith(FINAL_ANSWER_PREFIX)
            step = StepRecord(
                index,
                completion.text,
                completion.usage.prompt_tokens,
                completion.usage.completion_tokens,
                retries,
            )
            self.steps.commit_step(step, done, agent)
            messages += [ChatMessage.assistant(completion.text), ChatMessage.user(CONTINUE_PROMPT)]
            state.held_text += len(completion.text.encode())
            if done:
                self._learn(completion.text)
                return self.endings.complete(completion.text)
        return self.endings.fail(
            f"the agent used all {agent.limits.max_steps} steps without a final answer",
            TransitionReason.ERROR,
        )

    def _learn(self, final_text: str) -> None:
        """Write the final reply's `learned` facts to the task's knowledge (best effort, before
        the task completes so that a cancelled run learns nothing after its final event)."""
        self.state.check_cancel()
        learn_from_task(
            self.deps.db, self.state.task, final_text, embedder=self.deps.embedder
        )

    def _call(
        self, provider: LlmProvider, request: CompletionRequest, index: int
    ) -> tuple[Completion, int]:
        state = self.state
        retries = 0

        def attempt(number: int) -> Completion:
            state.check_cancel()
            started = self.deps.clock()
            try:
                return collect_stream(
                    provider.stream(replace(request, attempt=number), state.cancel)
                )
            finally:
                state.provider_seconds += self.deps.clock() - started

        def on_retry(retry: RetryAttempt) -> None:
            nonlocal retries
            retries += 1
            state.retries += 1
            self.steps.record_retry(index, retry)

        completion = call_with_retries(
            attempt, self.deps.settings.retry_policy, state.cancel, on_retry=on_retry
        )
        return completion, retries
