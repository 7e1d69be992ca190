"""What every LLM provider adapter guarantees through the port (aide.adapters.llm.port), run
against each adapter with a local fake of its API: streamed deltas then usage, 429 retried as
the server asks, error statuses and unusable answers classified, and a cancel that returns
promptly and closes the connection — mid-stream and while waiting for an answer.

What only one provider does (its wire format, its own error shapes) stays in its own file:
test_llm_openai_compatible.py, test_llm_gemini.py."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from aide.adapters.llm.gemini import GeminiProvider, GeminiSettings
from aide.adapters.llm.openai_compatible import OpenAICompatibleProvider
from aide.adapters.llm.port import LlmProvider
from aide.adapters.llm.retries import RetryAttempt, RetryPolicy, call_with_retries
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    Completion,
    CompletionRequest,
    GenerationOptions,
    InvalidProviderResponse,
    ProviderAuthError,
    ProviderCancelled,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TextDelta,
    collect_stream,
)
from tests.fakes.gemini_server import (
    FakeGeminiServer,
    blocked_response,
    gemini_error,
    generate_response,
    stream_response,
)
from tests.fakes.http_server import FakeResponse, RecordedRequest
from tests.fakes.openai_server import FakeOpenAIServer, chat_completion, chat_stream, openai_error
from tests.fakes.streaming import CancelAfterDeltas

REQUEST = CompletionRequest(
    model="model-under-test",
    system_prompt="You are terse.",
    messages=(
        ChatMessage.user("What is 2+2?"),
        ChatMessage.assistant("4"),
        ChatMessage.user("And 3+3?"),
    ),
    options=GenerationOptions(temperature=0.2, max_tokens=64, timeout_seconds=20),
)
FAST_RETRIES = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, jitter=0.0)


@dataclass(frozen=True)
class ProviderCase:
    """One adapter and how its fake API says each thing the contract needs."""

    name: str
    server: Callable[[], AbstractContextManager[Any]]
    provider: Callable[[Any], LlmProvider]
    reply: Callable[[str], FakeResponse]
    stream: Callable[..., FakeResponse]
    """(words, usage=(prompt, completion), interval=, stall_after=) → an SSE answer."""
    chunks_before_words: int
    """Stream chunks the fake sends before the first word (stall_after counts them)."""
    rate_limited: Callable[[str], FakeResponse]
    """A 429 answer carrying Retry-After: <seconds>."""
    rate_limit_code: str
    stream_failure: tuple[FakeResponse, type[ProviderError], str]
    unusable: dict[str, FakeResponse]
    check_stream_request: Callable[[RecordedRequest], None]
    stream_finish_reason: str | None = None


def _openai_stream_request(sent: RecordedRequest) -> None:
    body = sent.json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def _gemini_stream_request(sent: RecordedRequest) -> None:
    assert sent.path.endswith("/models/model-under-test:streamGenerateContent")
    assert sent.query == {"alt": ["sse"]}


OPENAI = ProviderCase(
    name="openai_compatible",
    server=FakeOpenAIServer,
    provider=lambda server: OpenAICompatibleProvider(server.base_url, lambda: "sk-test"),
    reply=chat_completion,
    stream=chat_stream,
    chunks_before_words=2,
    rate_limited=lambda seconds: openai_error(
        429,
        "Rate limit reached",
        error_type="requests",
        code="rate_limit_exceeded",
        headers={"Retry-After": seconds},
    ),
    rate_limit_code="rate_limit_exceeded",
    stream_failure=(
        openai_error(401, "no key", code="invalid_api_key"),
        ProviderAuthError,
        "no key",
    ),
    unusable={
        "not-json": FakeResponse(
            headers={"Content-Type": "application/json"}, body=b"<html>oops</html>"
        ),
        "no-choices": FakeResponse.json({"id": "x", "object": "chat.completion"}),
        "not-an-object": FakeResponse.json([1, 2, 3]),
    },
    check_stream_request=_openai_stream_request,
)
GEMINI = ProviderCase(
    name="gemini",
    server=FakeGeminiServer,
    provider=lambda server: GeminiProvider(
        GeminiSettings(api_key=lambda: "gemini-test-key", base_url=server.url)
    ),
    reply=generate_response,
    stream=stream_response,
    chunks_before_words=0,
    rate_limited=lambda seconds: gemini_error(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded", headers={"Retry-After": seconds}
    ),
    rate_limit_code="RESOURCE_EXHAUSTED",
    stream_failure=(
        gemini_error(503, "UNAVAILABLE", "overloaded"),
        ProviderUnavailable,
        "overloaded",
    ),
    unusable={
        "not-json": FakeResponse(
            headers={"Content-Type": "application/json"}, body=b"<html>proxy</html>"
        ),
        "no-candidates": FakeResponse.json({"candidates": []}),
        "blocked": blocked_response(),
    },
    check_stream_request=_gemini_stream_request,
    stream_finish_reason="STOP",
)
CASES = [OPENAI, GEMINI]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> ProviderCase:
    chosen: ProviderCase = request.param
    return chosen


@pytest.fixture
def server(case: ProviderCase) -> Iterator[Any]:
    with case.server() as fake:
        yield fake


@pytest.fixture
def provider(case: ProviderCase, server: Any) -> LlmProvider:
    return case.provider(server)


def test_stream_yields_deltas_then_usage(
    case: ProviderCase, server: Any, provider: LlmProvider
) -> None:
    server.enqueue(case.stream(["Six", " it", " is."], usage=(21, 3)))

    events = list(provider.stream(REQUEST, CancelToken()))

    assert events[:-1] == [TextDelta("Six"), TextDelta(" it"), TextDelta(" is.")]
    final = events[-1]
    assert isinstance(final, Completion)
    assert final.text == "Six it is."
    assert (final.usage.prompt_tokens, final.usage.total_tokens) == (21, 24)
    if case.stream_finish_reason is not None:
        assert final.finish_reason == case.stream_finish_reason
    case.check_stream_request(server.requests[-1])


def test_rate_limit_is_retried_honouring_retry_after(
    case: ProviderCase, server: Any, provider: LlmProvider
) -> None:
    server.enqueue(case.rate_limited("0.2"), case.reply("6"))
    retries: list[RetryAttempt] = []
    started = time.monotonic()

    completion = call_with_retries(
        lambda attempt: provider.complete(
            dataclasses.replace(REQUEST, attempt=attempt), CancelToken()
        ),
        FAST_RETRIES,
        CancelToken(),
        retries.append,
    )

    assert completion.text == "6"
    # The SDKs' own retries are off: the second call is ours.
    assert len(server.requests) == 2
    assert time.monotonic() - started >= 0.2  # waited as the server asked
    [retry] = retries
    assert retry.attempt == 1 and retry.delay_seconds == 0.2
    assert isinstance(retry.error, RateLimited)
    assert (retry.error.status_code, retry.error.code) == (429, case.rate_limit_code)


def test_stream_errors_are_classified_like_plain_ones(
    case: ProviderCase, server: Any, provider: LlmProvider
) -> None:
    response, error_class, message = case.stream_failure
    server.enqueue(response)
    with pytest.raises(error_class, match=message):
        collect_stream(provider.stream(REQUEST, CancelToken()))


@pytest.mark.parametrize(
    ("unusable_case", "answer"),
    [pytest.param(c, name, id=f"{c.name}-{name}") for c in CASES for name in c.unusable],
)
def test_unusable_answers_are_permanent_invalid_responses(
    unusable_case: ProviderCase, answer: str
) -> None:
    with unusable_case.server() as server:
        server.enqueue(unusable_case.unusable[answer])
        with pytest.raises(InvalidProviderResponse) as raised:
            unusable_case.provider(server).complete(REQUEST, CancelToken())
    assert not raised.value.transient


def test_cancel_mid_stream_returns_promptly_and_closes_the_connection(
    case: ProviderCase, server: Any, provider: LlmProvider
) -> None:
    # Two words, then silence: the call is blocked reading when the cancel arrives.
    server.enqueue(
        case.stream(
            [f"w{n} " for n in range(100)],
            interval=0.05,
            stall_after=case.chunks_before_words + 2,
        )
    )
    cancel = CancelToken()
    on_delta = CancelAfterDeltas(cancel, count=2)

    with pytest.raises(ProviderCancelled, match="user cancelled"):
        collect_stream(provider.stream(REQUEST, cancel), on_delta)

    assert on_delta.seconds_since_cancel() < 1.0
    assert on_delta.received == ["w0 ", "w1 "]
    assert server.client_disconnected.wait(5), "server never saw the connection close"


def test_cancel_while_waiting_for_a_non_streaming_answer(
    case: ProviderCase, server: Any, provider: LlmProvider
) -> None:
    server.enqueue(FakeResponse(delay=30))
    cancel = CancelToken()
    timer = threading.Timer(0.3, cancel.cancel, kwargs={"reason": "user cancelled"})
    timer.daemon = True
    timer.start()
    started = time.monotonic()

    with pytest.raises(ProviderCancelled):
        provider.complete(REQUEST, cancel)

    assert time.monotonic() - started < 0.3 + 1.0
    assert server.client_disconnected.wait(5), "server never saw the connection close"
