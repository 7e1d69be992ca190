"""`scripted`: a deterministic local stand-in for an LLM. Not a model; nothing leaves the process.

Used by `make dev` and the tests so the whole task lifecycle runs offline and reproducibly. The
same conversation always gets the same reply:

- The task is the first user message; its SHA-256 picks the plan length (3-5 steps unless the
  `steps` knob says otherwise) and the wording.
- The step number is the number of assistant messages already in the conversation plus one.
  Step k of n answers `Step k/n: ...`; step 1 also lists the plan; the reply for step n starts
  with FINAL_ANSWER_PREFIX, which is how a runtime can tell the agent is done.
- Token counts are word-and-punctuation counts of the prompt and the reply.

Knobs, from the model string's query (`scripted?latency=0.5&fail_transient=2`, i.e. the agent's
configuration) overridden by `CompletionRequest.provider_options` (e.g. a task's inputs):

  latency          seconds each call takes (streaming spreads it over the chunks); cancellable
  steps            plan length, 1-20
  step             answer as this step (1-based) instead of counting assistant messages
  fail_transient   the failing step's first N attempts raise a transient error, then it succeeds
  fail_status      429 (RateLimited) or 503 (ProviderUnavailable, the default) for those errors
  retry_after      seconds put in the transient errors' retry_after_seconds
  fail_permanent   true: the failing step raises InvalidProviderRequest on every attempt
  fail_step        which step fails (1-based, default 1); 0 means every step
  output_bytes     pad the final answer to at least this many bytes (large-output paths)

Attempts come from `CompletionRequest.attempt`, which `call_with_retries` numbers, so failure
scripts need no hidden state and replay identically in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Final
from urllib.parse import parse_qsl

from aide.domain.llm import (
    CancelToken,
    Completion,
    CompletionRequest,
    InvalidProviderRequest,
    ProviderCancelled,
    ProviderConfigurationError,
    ProviderUnavailable,
    RateLimited,
    Role,
    StreamEvent,
    TextDelta,
    TokenUsage,
    estimated_usage,
)

PROVIDER_NAME: Final = "scripted"
FINAL_ANSWER_PREFIX: Final = "FINAL ANSWER:"
MAX_STEPS: Final = 20

_ACTIONS: Final = (
    "Clarify the goal of",
    "Gather the facts about",
    "Outline an approach to",
    "Draft a solution for",
    "Check the assumptions behind",
    "Compare alternatives for",
    "Refine the details of",
    "Validate the result of",
    "Summarise the findings on",
    "Review the risks of",
)
_OBSERVATIONS: Final = (
    "No blockers found.",
    "The inputs are consistent.",
    "Two options remain; the simpler one is preferred.",
    "The previous step's output holds up.",
    "One edge case needs a note in the answer.",
    "Nothing contradicts the plan.",
)
_PADDING_SENTENCE: Final = "This line pads the scripted answer to the requested size. "


@dataclass(frozen=True)
class ScriptKnobs:
    latency: float = 0.0
    steps: int | None = None
    step: int | None = None
    fail_transient: int = 0
    fail_status: int = 503
    retry_after: float | None = None
    fail_permanent: bool = False
    fail_step: int = 1
    output_bytes: int = 0


def parse_knobs(model: str, provider_options: Mapping[str, object]) -> ScriptKnobs:
    """Knobs from the model string's query, overridden by the request's provider options."""
    _, _, query = model.partition("?")
    raw: dict[str, object] = dict(parse_qsl(query))
    raw.update(provider_options)
    known = {field.name: field for field in fields(ScriptKnobs)}
    values: dict[str, object] = {}
    for name, value in raw.items():
        if name not in known:
            raise ProviderConfigurationError(
                f"unknown scripted knob {name!r} (known: {', '.join(sorted(known))})",
                provider=PROVIDER_NAME,
            )
        values[name] = _coerce(name, value)
    knobs = ScriptKnobs(**values)  # type: ignore[arg-type]
    if knobs.steps is not None and not 1 <= knobs.steps <= MAX_STEPS:
        raise ProviderConfigurationError(f"steps must be 1-{MAX_STEPS}", provider=PROVIDER_NAME)
    if knobs.fail_status not in (429, 503):
        raise ProviderConfigurationError("fail_status must be 429 or 503", provider=PROVIDER_NAME)
    return knobs


def _coerce(name: str, value: object) -> object:
    try:
        if name in ("latency", "retry_after"):
            return float(value)  # type: ignore[arg-type]
        if name == "fail_permanent":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as error:
        raise ProviderConfigurationError(
            f"scripted knob {name}={value!r} is not a number", provider=PROVIDER_NAME
        ) from error


class ScriptedProvider:
    name: Final = PROVIDER_NAME

    def complete(self, request: CompletionRequest, cancel: CancelToken) -> Completion:
        knobs = parse_knobs(request.model, request.provider_options)
        cancel.raise_if_cancelled()
        if cancel.wait(knobs.latency):
            raise ProviderCancelled(cancel.reason or "cancelled")
        return self._reply(request, knobs)

    def stream(self, request: CompletionRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        knobs = parse_knobs(request.model, request.provider_options)
        cancel.raise_if_cancelled()
        # Fail before streaming anything, as real providers do with an error status.
        completion = self._reply(request, knobs)
        chunks = _word_chunks(completion.text)
        pause = knobs.latency / max(len(chunks), 1)
        for chunk in chunks:
            if cancel.wait(pause):
                raise ProviderCancelled(cancel.reason or "cancelled")
            yield TextDelta(chunk)
        cancel.raise_if_cancelled()
        yield completion

    def _reply(self, request: CompletionRequest, knobs: ScriptKnobs) -> Completion:
        task = next((m.content for m in request.messages if m.role is Role.USER), "")
        digest = hashlib.sha256(task.encode()).digest()
        total_steps = knobs.steps or 3 + digest[0] % 3
        replies_so_far = sum(1 for m in request.messages if m.role is Role.ASSISTANT)
        step = min(max(knobs.step or replies_so_far + 1, 1), total_steps)
        _inject_failure(knobs, step, request.attempt)
        text = _step_text(task, digest, step, total_steps)
        if step == total_steps and knobs.output_bytes > len(text.encode()):
            missing = knobs.output_bytes - len(text.encode())
            text += "\n" + (_PADDING_SENTENCE * (missing // len(_PADDING_SENTENCE) + 1))
        usage = estimated_usage(request, text)
        return Completion(
            text=text,
            # Counted, not estimated: for this provider the word count is the token count.
            usage=TokenUsage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
            model=request.model,
            provider=PROVIDER_NAME,
            finish_reason="stop",
        )


def _inject_failure(knobs: ScriptKnobs, step: int, attempt: int) -> None:
    if knobs.fail_step not in (0, step):
        return
    if knobs.fail_permanent:
        raise InvalidProviderRequest(
            f"scripted permanent failure at step {step}", provider=PROVIDER_NAME, status_code=400
        )
    if attempt <= knobs.fail_transient:
        message = f"scripted transient failure {attempt}/{knobs.fail_transient} at step {step}"
        if knobs.fail_status == 429:
            raise RateLimited(
                message,
                provider=PROVIDER_NAME,
                status_code=429,
                retry_after_seconds=knobs.retry_after,
            )
        raise ProviderUnavailable(
            message, provider=PROVIDER_NAME, status_code=503, retry_after_seconds=knobs.retry_after
        )


def _step_text(task: str, digest: bytes, step: int, total_steps: int) -> str:
    topic = _topic(task)
    actions = [_ACTIONS[(digest[1] + index * 3) % len(_ACTIONS)] for index in range(total_steps)]
    observation = _OBSERVATIONS[(digest[2] + step) % len(_OBSERVATIONS)]
    line = f"Step {step}/{total_steps}: {actions[step - 1]} {topic}. {observation}"
    if step == 1:
        plan = "\n".join(
            f"{index}. {action} {topic}" for index, action in enumerate(actions, start=1)
        )
        line = f"{line}\nPlan:\n{plan}"
    if step == total_steps:
        return f"{FINAL_ANSWER_PREFIX} {topic}: completed in {total_steps} steps.\n{line}"
    return line


def _topic(task: str) -> str:
    words = task.split()
    if not words:
        return "the task"
    topic = " ".join(words[:8])
    return f'"{topic}{"..." if len(words) > 8 else ""}"'


def _word_chunks(text: str) -> list[str]:
    """Pieces of a few words each, keeping whitespace so they join back to `text`."""
    words = text.split(" ")
    return [
        " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
        for i in range(0, len(words), 3)
    ]
