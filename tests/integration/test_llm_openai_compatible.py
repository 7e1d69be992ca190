"""The OpenAI-compatible adapter against a local server speaking the Chat Completions protocol:
what only this adapter does (the shared provider contract is test_llm_provider_contract.py)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aide.adapters.llm.cancellable_http import new_client
from aide.adapters.llm.openai_compatible import OpenAICompatibleProvider
from aide.adapters.llm.retries import RetryAttempt, RetryPolicy, call_with_retries
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    CompletionRequest,
    GenerationOptions,
    InvalidProviderRequest,
    ProviderAuthError,
    ProviderCancelled,
    ProviderConnectionError,
    ProviderTimeout,
    ProviderUnavailable,
    TextDelta,
    collect_stream,
)
from tests.fakes.http_server import FakeResponse
from tests.fakes.openai_server import FakeOpenAIServer, chat_completion, chat_stream, openai_error
from tests.fakes.streaming import CancelAfterDeltas
from tests.fakes.tls import local_tls

REQUEST = CompletionRequest(
    model="gpt-test",
    system_prompt="You are terse.",
    messages=(
        ChatMessage.user("What is 2+2?"),
        ChatMessage.assistant("4"),
        ChatMessage.user("And 3+3?"),
    ),
    options=GenerationOptions(temperature=0.2, max_tokens=64, timeout_seconds=20),
)
FAST_RETRIES = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, jitter=0.0)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def provider(server: FakeOpenAIServer) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(server.base_url, lambda: "sk-test")


def test_complete_sends_the_conversation_and_returns_text_with_usage(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(
        chat_completion("6", model="gpt-test-0613", prompt_tokens=30, completion_tokens=1)
    )

    completion = provider.complete(REQUEST, CancelToken())

    assert completion.text == "6"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (30, 1)
    assert completion.usage.total_tokens == 31 and not completion.usage.estimated
    assert (completion.model, completion.finish_reason) == ("gpt-test-0613", "stop")
    sent = server.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json() == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"},
        ],
        "temperature": 0.2,
        "max_tokens": 64,
    }


def test_no_key_means_no_authorization_header_as_ollama_expects(
    server: FakeOpenAIServer,
) -> None:
    provider = OpenAICompatibleProvider(
        server.base_url + "/", max_tokens_field="max_completion_tokens"
    )
    completion = provider.complete(REQUEST, CancelToken())

    assert completion.text == "And 3+3?"  # the fake echoes
    assert "authorization" not in server.requests[-1].headers
    assert server.requests[-1].json()["max_completion_tokens"] == 64


def test_missing_usage_is_estimated(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(FakeResponse.json({"choices": [{"index": 0, "message": {"content": "six"}}]}))
    completion = provider.complete(REQUEST, CancelToken())
    assert completion.usage.estimated and completion.usage.completion_tokens == 1


def test_stream_cut_off_before_done_is_a_transient_connection_error(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(chat_stream(["par", "tial"], done=False))
    with pytest.raises(ProviderConnectionError) as raised:
        collect_stream(provider.stream(REQUEST, CancelToken()))
    assert raised.value.transient


def test_error_event_inside_a_stream_is_raised(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(
        FakeResponse(
            headers={"Content-Type": "text/event-stream"},
            chunks=[b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'],
        )
    )
    with pytest.raises(ProviderUnavailable, match="overloaded"):
        collect_stream(provider.stream(REQUEST, CancelToken()))


def test_500_is_transient_and_retried(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(openai_error(500, "The server had an error", error_type="server_error"))
    retries: list[RetryAttempt] = []

    completion = call_with_retries(
        lambda _attempt: provider.complete(REQUEST, CancelToken()),
        FAST_RETRIES,
        CancelToken(),
        retries.append,
    )

    assert completion.text == "And 3+3?"
    assert isinstance(retries[0].error, ProviderUnavailable)
    assert retries[0].error.message == "The server had an error"


@pytest.mark.parametrize(
    ("status", "error_class"), [(401, ProviderAuthError), (400, InvalidProviderRequest)]
)
def test_permanent_errors_are_not_retried(
    server: FakeOpenAIServer,
    provider: OpenAICompatibleProvider,
    status: int,
    error_class: type[Exception],
) -> None:
    server.enqueue(openai_error(status, "Incorrect API key provided", code="invalid_api_key"))

    with pytest.raises(error_class, match="Incorrect API key") as raised:
        call_with_retries(
            lambda _attempt: provider.complete(REQUEST, CancelToken()), FAST_RETRIES, CancelToken()
        )

    assert len(server.requests) == 1
    assert raised.value.attempts == 1


def test_connection_refused_is_transient() -> None:
    with FakeOpenAIServer() as gone:
        base_url = gone.base_url
    with pytest.raises(ProviderConnectionError) as raised:
        OpenAICompatibleProvider(base_url).complete(REQUEST, CancelToken())
    assert raised.value.transient


def test_read_timeout_is_transient(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(FakeResponse(delay=30))
    quick = dataclasses.replace(REQUEST, options=GenerationOptions(timeout_seconds=0.3))
    with pytest.raises(ProviderTimeout) as raised:
        provider.complete(quick, CancelToken())
    assert raised.value.transient


def test_a_stream_slower_than_its_budget_times_out(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    # Every chunk arrives within the read timeout, so only the whole-call budget can stop it.
    server.enqueue(chat_stream([f"w{n} " for n in range(100)], interval=0.1))
    budget = dataclasses.replace(REQUEST, options=GenerationOptions(timeout_seconds=0.6))
    started = time.monotonic()

    with pytest.raises(ProviderTimeout):
        collect_stream(provider.stream(budget, CancelToken()))

    assert time.monotonic() - started < 0.6 + 1.0


def test_abandoning_a_stream_closes_its_connection(
    server: FakeOpenAIServer, provider: OpenAICompatibleProvider
) -> None:
    server.enqueue(chat_stream([f"w{n} " for n in range(100)], interval=0.05))
    events = provider.stream(REQUEST, CancelToken())
    assert isinstance(next(events), TextDelta)

    events.close()  # type: ignore[attr-defined]

    assert server.client_disconnected.wait(5), "server never saw the connection close"


def test_cancel_over_https_shuts_the_tls_connection(tmp_path: Path) -> None:
    # Real providers are HTTPS: TLS wraps (and detaches) the TCP socket the trace first reports.
    tls = local_tls(tmp_path)
    with FakeOpenAIServer(tls=tls.server) as secure:
        provider = OpenAICompatibleProvider(secure.base_url, client=new_client(verify=tls.client))
        assert secure.base_url.startswith("https://")
        assert provider.complete(REQUEST, CancelToken()).text == "And 3+3?"

        secure.enqueue(chat_stream([f"w{n} " for n in range(100)], interval=0.05, stall_after=4))
        cancel = CancelToken()
        on_delta = CancelAfterDeltas(cancel, count=2)

        with pytest.raises(ProviderCancelled):
            collect_stream(provider.stream(REQUEST, cancel), on_delta)

        assert on_delta.seconds_since_cancel() < 1.0
        assert secure.client_disconnected.wait(5), "server never saw the connection close"
