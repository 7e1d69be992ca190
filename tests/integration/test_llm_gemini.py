"""The Gemini adapter through the real google-genai SDK against a local fake of the Gemini API."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest

from aide.adapters.llm.gemini import GeminiProvider, GeminiSettings
from aide.adapters.llm.retries import RetryAttempt, RetryPolicy, call_with_retries
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    Completion,
    CompletionRequest,
    GenerationOptions,
    InvalidProviderRequest,
    InvalidProviderResponse,
    ProviderAuthError,
    ProviderCancelled,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Role,
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
from tests.fakes.http_server import FakeResponse
from tests.fakes.streaming import CancelAfterDeltas

REQUEST = CompletionRequest(
    model="gemini-2.5-flash",
    system_prompt="You are terse.",
    messages=(
        ChatMessage(Role.SYSTEM, "Answer in English."),
        ChatMessage.user("What is 2+2?"),
        ChatMessage.assistant("4"),
        ChatMessage.user("And 3+3?"),
    ),
    options=GenerationOptions(temperature=0.3, max_tokens=50, timeout_seconds=20),
)
FAST_RETRIES = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, jitter=0.0)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as fake:
        yield fake


@pytest.fixture
def provider(server: FakeGeminiServer) -> GeminiProvider:
    server.requests.clear()
    server.client_disconnected.clear()
    return GeminiProvider(GeminiSettings(api_key=lambda: "gemini-test-key", base_url=server.url))


def test_generate_sends_contents_instruction_and_config(
    server: FakeGeminiServer, provider: GeminiProvider
) -> None:
    server.enqueue(generate_response("6", usage=(21, 1)))

    completion = provider.complete(REQUEST, CancelToken())

    assert completion.text == "6"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 1)
    assert completion.usage.total_tokens == 22 and not completion.usage.estimated
    assert (completion.model, completion.finish_reason) == ("gemini-fake-001", "STOP")
    assert completion.provider == "gemini"
    sent = server.requests[-1]
    assert sent.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert sent.headers["x-goog-api-key"] == "gemini-test-key"
    body = sent.json()
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "What is 2+2?"}]},
        {"role": "model", "parts": [{"text": "4"}]},
        {"role": "user", "parts": [{"text": "And 3+3?"}]},
    ]
    assert body["systemInstruction"]["parts"] == [{"text": "You are terse.\n\nAnswer in English."}]
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 50}


def test_stream_uses_sse_and_yields_deltas_then_usage(
    server: FakeGeminiServer, provider: GeminiProvider
) -> None:
    server.enqueue(stream_response(["Six", " it", " is."], usage=(21, 3)))

    events = list(provider.stream(REQUEST, CancelToken()))

    assert events[:-1] == [TextDelta("Six"), TextDelta(" it"), TextDelta(" is.")]
    final = events[-1]
    assert isinstance(final, Completion)
    assert final.text == "Six it is."
    assert (final.usage.prompt_tokens, final.usage.total_tokens) == (21, 24)
    assert final.finish_reason == "STOP"
    sent = server.requests[-1]
    assert sent.path.endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert sent.query == {"alt": ["sse"]}


def test_rate_limit_is_retried_honouring_retry_after(
    server: FakeGeminiServer, provider: GeminiProvider
) -> None:
    server.enqueue(
        gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", headers={"Retry-After": "0.2"}),
        generate_response("6"),
    )
    retries: list[RetryAttempt] = []

    completion = call_with_retries(
        lambda attempt: provider.complete(
            dataclasses.replace(REQUEST, attempt=attempt), CancelToken()
        ),
        FAST_RETRIES,
        CancelToken(),
        retries.append,
    )

    assert completion.text == "6"
    assert len(server.requests) == 2  # the SDK's own retries are off; ours made the second call
    [retry] = retries
    assert isinstance(retry.error, RateLimited)
    assert (retry.error.status_code, retry.error.code) == (429, "RESOURCE_EXHAUSTED")
    assert retry.delay_seconds == 0.2


@pytest.mark.parametrize(
    ("status_code", "status", "error_class", "transient"),
    [
        (503, "UNAVAILABLE", ProviderUnavailable, True),
        (500, "INTERNAL", ProviderUnavailable, True),
        (400, "INVALID_ARGUMENT", InvalidProviderRequest, False),
        (404, "NOT_FOUND", InvalidProviderRequest, False),
        (403, "PERMISSION_DENIED", ProviderAuthError, False),
        (401, "UNAUTHENTICATED", ProviderAuthError, False),
    ],
)
def test_error_statuses_map_to_port_errors(
    server: FakeGeminiServer,
    provider: GeminiProvider,
    status_code: int,
    status: str,
    error_class: type[ProviderError],
    transient: bool,
) -> None:
    server.enqueue(gemini_error(status_code, status, "went wrong"))

    with pytest.raises(error_class, match="went wrong") as raised:
        provider.complete(REQUEST, CancelToken())

    assert raised.value.transient is transient
    assert raised.value.status_code == status_code
    assert len(server.requests) == 1


def test_stream_errors_map_too(server: FakeGeminiServer, provider: GeminiProvider) -> None:
    server.enqueue(gemini_error(503, "UNAVAILABLE", "overloaded"))
    with pytest.raises(ProviderUnavailable, match="overloaded"):
        collect_stream(provider.stream(REQUEST, CancelToken()))


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse(headers={"Content-Type": "application/json"}, body=b"<html>proxy</html>"),
        FakeResponse.json({"candidates": []}),
        blocked_response(),
    ],
    ids=["not-json", "no-candidates", "blocked"],
)
def test_unusable_answers_are_permanent_invalid_responses(
    server: FakeGeminiServer, provider: GeminiProvider, response: FakeResponse
) -> None:
    server.enqueue(response)
    with pytest.raises(InvalidProviderResponse) as raised:
        provider.complete(REQUEST, CancelToken())
    assert not raised.value.transient


def test_cancel_mid_stream_returns_promptly_and_closes_the_connection(
    server: FakeGeminiServer, provider: GeminiProvider
) -> None:
    # Events w0, w1, then silence: the SDK is blocked reading when the cancel arrives.
    server.enqueue(stream_response([f"w{n} " for n in range(100)], interval=0.05, stall_after=2))
    cancel = CancelToken()
    on_delta = CancelAfterDeltas(cancel, count=2)

    with pytest.raises(ProviderCancelled, match="user cancelled"):
        collect_stream(provider.stream(REQUEST, cancel), on_delta)

    assert on_delta.seconds_since_cancel() < 1.0
    assert on_delta.received == ["w0 ", "w1 "]
    assert server.client_disconnected.wait(5), "server never saw the connection close"


def test_cancel_while_waiting_for_generate(
    server: FakeGeminiServer, provider: GeminiProvider
) -> None:
    server.enqueue(FakeResponse(delay=30))
    cancel = CancelToken()
    timer = threading.Timer(0.3, cancel.cancel)
    timer.start()
    started = time.monotonic()

    with pytest.raises(ProviderCancelled):
        provider.complete(REQUEST, cancel)

    assert time.monotonic() - started < 0.3 + 1.0
    assert server.client_disconnected.wait(5), "server never saw the connection close"


def test_vertex_ai_express_mode_uses_the_key_against_the_configured_endpoint(
    server: FakeGeminiServer,
) -> None:
    provider = GeminiProvider(
        GeminiSettings(api_key=lambda: "vertex-key", vertexai=True, base_url=server.url)
    )
    server.enqueue(generate_response("6"))

    assert provider.complete(REQUEST, CancelToken()).text == "6"
    sent = server.requests[-1]
    assert "/publishers/google/models/gemini-2.5-flash:generateContent" in sent.path
    assert sent.headers["x-goog-api-key"] == "vertex-key"
