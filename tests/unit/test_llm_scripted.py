"""The deterministic `scripted` provider: replies, token counts, knobs, failures, cancellation."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from aide.adapters.llm.retries import RetryPolicy, call_with_retries
from aide.adapters.llm.scripted import FINAL_ANSWER_PREFIX, ScriptedProvider, parse_knobs
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    Completion,
    CompletionRequest,
    InvalidProviderRequest,
    ProviderCancelled,
    ProviderConfigurationError,
    ProviderUnavailable,
    RateLimited,
    TextDelta,
    collect_stream,
    estimate_tokens,
)

PROVIDER = ScriptedProvider()
TASK = "Write a short report on solar panel efficiency"


def request(
    task: str = TASK,
    *,
    replies: tuple[str, ...] = (),
    model: str = "scripted",
    **provider_options: object,
) -> CompletionRequest:
    messages = [ChatMessage.user(task)]
    for reply in replies:
        messages += [ChatMessage.assistant(reply), ChatMessage.user("continue")]
    return CompletionRequest(
        model=model,
        messages=tuple(messages),
        system_prompt="You are a planner.",
        provider_options=provider_options,
    )


def run_to_final_answer(task: str, **options: object) -> list[str]:
    replies: list[str] = []
    while not replies or not replies[-1].startswith(FINAL_ANSWER_PREFIX):
        replies.append(
            PROVIDER.complete(request(task, replies=tuple(replies), **options), CancelToken()).text
        )
        assert len(replies) <= 20
    return replies


def test_same_conversation_same_reply_and_different_tasks_differ() -> None:
    first = PROVIDER.complete(request(), CancelToken())
    again = PROVIDER.complete(request(), CancelToken())
    other = PROVIDER.complete(request("Plan a database migration to Postgres"), CancelToken())

    assert first == again
    assert first.text != other.text
    assert first.text.startswith("Step 1/")
    assert "Plan:\n1. " in first.text
    assert first.provider == "scripted" and first.finish_reason == "stop"


def test_steps_advance_with_the_conversation_and_end_in_a_final_answer() -> None:
    replies = run_to_final_answer(TASK)

    assert 3 <= len(replies) <= 5
    total = len(replies)
    for number, reply in enumerate(replies, start=1):
        assert f"Step {number}/{total}:" in reply
    assert not any(r.startswith(FINAL_ANSWER_PREFIX) for r in replies[:-1])


def test_step_knob_overrides_the_conversation_position() -> None:
    third = PROVIDER.complete(request(replies=("a", "b")), CancelToken())
    assert PROVIDER.complete(request(step=3), CancelToken()).text == third.text
    final = PROVIDER.complete(request(step=20, steps=3), CancelToken())
    assert final.text.startswith(f"{FINAL_ANSWER_PREFIX} ")


def test_steps_knob_sets_the_plan_length() -> None:
    assert len(run_to_final_answer(TASK, steps=2)) == 2
    assert len(run_to_final_answer(TASK, steps=1)) == 1


def test_token_counts_are_word_counts() -> None:
    req = request()
    completion = PROVIDER.complete(req, CancelToken())
    prompt = estimate_tokens(req.system_prompt) + estimate_tokens(TASK)

    assert completion.usage.prompt_tokens == prompt
    assert completion.usage.completion_tokens == estimate_tokens(completion.text)
    assert completion.usage.total_tokens == prompt + completion.usage.completion_tokens
    assert completion.usage.estimated is False


def test_output_bytes_pads_the_final_answer() -> None:
    final = run_to_final_answer(TASK, steps=1, output_bytes=150_000)[-1]
    assert len(final.encode()) >= 150_000
    assert final.startswith(FINAL_ANSWER_PREFIX)


def test_stream_yields_deltas_that_join_to_the_completion() -> None:
    events = list(PROVIDER.stream(request(), CancelToken()))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    final = events[-1]

    assert isinstance(final, Completion)
    assert len(deltas) > 3
    assert "".join(deltas) == final.text == PROVIDER.complete(request(), CancelToken()).text


def test_fail_transient_then_succeed_through_the_retry_loop() -> None:
    req = request(fail_transient=2)
    retries = []

    completion = call_with_retries(
        lambda attempt: PROVIDER.complete(dataclasses.replace(req, attempt=attempt), CancelToken()),
        RetryPolicy(max_attempts=4),
        CancelToken(),
        retries.append,
        sleep=lambda _seconds: None,
    )

    assert completion.text.startswith("Step 1/")
    assert [r.attempt for r in retries] == [1, 2]
    assert all(isinstance(r.error, ProviderUnavailable) for r in retries)


def test_failures_hit_only_the_chosen_step() -> None:
    options = {"fail_transient": 1, "fail_step": 2}
    PROVIDER.complete(request(**options), CancelToken())  # step 1 is unaffected
    with pytest.raises(ProviderUnavailable, match="step 2"):
        PROVIDER.complete(request(replies=("first",), **options), CancelToken())


def test_rate_limit_failures_carry_retry_after() -> None:
    with pytest.raises(RateLimited) as raised:
        PROVIDER.complete(
            request(fail_transient=1, fail_status=429, retry_after=0.25), CancelToken()
        )
    assert raised.value.retry_after_seconds == 0.25
    assert raised.value.status_code == 429


def test_fail_permanent_fails_every_attempt_of_every_step_with_fail_step_zero() -> None:
    for replies in ((), ("first",)):
        for attempt in (1, 5):
            req = dataclasses.replace(
                request(replies=replies, fail_permanent=True, fail_step=0), attempt=attempt
            )
            with pytest.raises(InvalidProviderRequest) as raised:
                PROVIDER.complete(req, CancelToken())
            assert raised.value.transient is False


def test_knobs_from_the_model_string_are_overridden_by_provider_options() -> None:
    knobs = parse_knobs("scripted?latency=0.5&fail_transient=2", {"fail_transient": 0})
    assert (knobs.latency, knobs.fail_transient) == (0.5, 0)


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("scripted?bogus=1", {}),
        ("scripted", {"latency": "slow"}),
        ("scripted", {"steps": 99}),
        ("scripted", {"fail_status": 500}),
    ],
)
def test_bad_knobs_are_configuration_errors(model: str, options: dict[str, object]) -> None:
    with pytest.raises(ProviderConfigurationError):
        parse_knobs(model, options)


def test_latency_applies_and_cancel_interrupts_it_mid_call() -> None:
    cancel = CancelToken()
    threading.Timer(0.2, cancel.cancel).start()
    started = time.monotonic()

    with pytest.raises(ProviderCancelled):
        PROVIDER.complete(request(latency=30), cancel)

    assert time.monotonic() - started < 5


def test_cancel_interrupts_a_stream_between_chunks() -> None:
    cancel = CancelToken()
    seen: list[str] = []

    def on_delta(text: str) -> None:
        seen.append(text)
        if len(seen) == 2:
            cancel.cancel()

    with pytest.raises(ProviderCancelled):
        collect_stream(PROVIDER.stream(request(latency=2), cancel), on_delta)
    assert len(seen) == 2
