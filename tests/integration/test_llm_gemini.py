"""The Gemini adapter through the real google-genai SDK against a local fake of the Gemini API:
what only Gemini does (the shared provider contract is test_llm_provider_contract.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aide.adapters.llm.gemini import GeminiProvider, GeminiSettings
from aide.adapters.llm.retries import RetryPolicy
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    CompletionRequest,
    GenerationOptions,
    InvalidProviderRequest,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    Role,
)
from tests.fakes.gemini_server import (
    FakeGeminiServer,
    gemini_error,
    generate_response,
)

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
