"""Google Gemini through the google-genai SDK: the Gemini API (key) or Vertex AI (project/location).

The SDK is imported on first use (it is large; most functions never call a model). It is handed
the shared cancellable httpx client, so a cancel aborts its in-flight request like the
OpenAI-compatible adapter's. The SDK's own retries are switched off: the runtime's
`call_with_retries` owns retrying, so attempts are counted and reported in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

import httpx

from aide.adapters.llm.cancellable_http import cancellable_call, shared_client
from aide.adapters.llm.http_errors import retry_after_seconds, transport_failure
from aide.domain.llm import (
    CancelToken,
    ChatMessage,
    Completion,
    CompletionRequest,
    InvalidProviderResponse,
    ProviderCancelled,
    ProviderConfigurationError,
    ProviderError,
    Role,
    StreamedCompletion,
    StreamEvent,
    TokenUsage,
    error_for_status,
    estimated_usage,
)

if TYPE_CHECKING:
    from google.genai import Client
    from google.genai import types as genai_types

PROVIDER_NAME: Final = "gemini"
# The HTTP status behind each google.rpc code the API puts in error bodies without a status.
_RPC_STATUS_CODES: Final[Mapping[str, int]] = {
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
    "DEADLINE_EXCEEDED": 504,
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
}


@dataclass(frozen=True)
class GeminiSettings:
    """Where and as whom to call Gemini. `api_key` is read at call time (a secret)."""

    api_key: Callable[[], str | None] = lambda: None
    vertexai: bool = False
    project: str | None = None
    location: str | None = None
    # Only for local fake servers and proxies; the SDK picks Google's endpoint otherwise.
    base_url: str | None = None


class GeminiProvider:
    name: Final = PROVIDER_NAME

    def __init__(self, settings: GeminiSettings) -> None:
        self._settings = settings

    def complete(self, request: CompletionRequest, cancel: CancelToken) -> Completion:
        cancel.raise_if_cancelled()
        client = _client_for(self._settings)
        with cancellable_call(cancel):
            try:
                response = client.models.generate_content(
                    model=request.model, contents=_contents(request), config=_config(request)
                )
            except Exception as error:
                _raise_as_provider_error(error, cancel)
        cancel.raise_if_cancelled()
        text, finish_reason = _text(response)
        return Completion(
            text=text,
            usage=_usage(response) or estimated_usage(request, text),
            model=str(response.model_version or request.model),
            provider=PROVIDER_NAME,
            finish_reason=finish_reason,
        )

    def stream(self, request: CompletionRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        cancel.raise_if_cancelled()
        client = _client_for(self._settings)
        streamed = StreamedCompletion(request, PROVIDER_NAME)
        with cancellable_call(cancel):
            try:
                for chunk in client.models.generate_content_stream(
                    model=request.model, contents=_contents(request), config=_config(request)
                ):
                    cancel.raise_if_cancelled()
                    text, chunk_finish = _text(chunk, allow_empty=True)
                    streamed.finish_reason = chunk_finish or streamed.finish_reason
                    streamed.usage = _usage(chunk) or streamed.usage
                    streamed.model = str(chunk.model_version or streamed.model)
                    if text:
                        yield streamed.delta(text)
            except Exception as error:
                _raise_as_provider_error(error, cancel)
        cancel.raise_if_cancelled()
        yield streamed.completion()


_clients_lock = threading.Lock()
_clients: dict[tuple[object, ...], Client] = {}


def _client_for(settings: GeminiSettings) -> Client:
    from google.genai import Client
    from google.genai import types as genai_types

    api_key = settings.api_key() or None
    if not settings.vertexai and not api_key:
        raise ProviderConfigurationError(
            "Gemini needs an API key (GEMINI_API_KEY) or Vertex AI settings", provider=PROVIDER_NAME
        )
    # Keyed by the key itself so a rotated secret gets a fresh client; kept only in memory.
    cache_key = (api_key, settings.vertexai, settings.project, settings.location, settings.base_url)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            http_options = genai_types.HttpOptions(
                base_url=settings.base_url,
                httpx_client=shared_client(),
                retry_options=genai_types.HttpRetryOptions(attempts=1),
            )
            if settings.vertexai:
                client = Client(
                    vertexai=True,
                    api_key=api_key if not settings.project else None,
                    project=settings.project,
                    location=settings.location,
                    http_options=http_options,
                )
            else:
                client = Client(api_key=api_key, http_options=http_options)
            _clients[cache_key] = client
        return client


def _contents(request: CompletionRequest) -> list[genai_types.Content]:
    from google.genai import types as genai_types

    return [
        genai_types.Content(
            role="model" if message.role is Role.ASSISTANT else "user",
            parts=[genai_types.Part(text=message.content)],
        )
        for message in request.messages
        if message.role is not Role.SYSTEM
    ]


def _system_instruction(request: CompletionRequest) -> str | None:
    # Gemini has no system turns inside the conversation; fold them into the instruction.
    system_messages: list[ChatMessage] = [m for m in request.messages if m.role is Role.SYSTEM]
    texts = [request.system_prompt, *(m.content for m in system_messages)]
    joined = "\n\n".join(text for text in texts if text)
    return joined or None


def _config(request: CompletionRequest) -> genai_types.GenerateContentConfig:
    from google.genai import types as genai_types

    return genai_types.GenerateContentConfig(
        system_instruction=_system_instruction(request),
        temperature=request.options.temperature,
        max_output_tokens=request.options.max_tokens,
        http_options=genai_types.HttpOptions(
            timeout=int(request.options.timeout_seconds * 1000),
            retry_options=genai_types.HttpRetryOptions(attempts=1),
        ),
    )


def _text(response: Any, *, allow_empty: bool = False) -> tuple[str, str | None]:
    """The candidate text and finish reason; a blocked prompt is a permanent error."""
    candidates = response.candidates or []
    if not candidates:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise InvalidProviderResponse(
                f"prompt blocked: {feedback.block_reason}", provider=PROVIDER_NAME
            )
        if allow_empty:
            return "", None
        raise InvalidProviderResponse("response has no candidates", provider=PROVIDER_NAME)
    candidate = candidates[0]
    parts = candidate.content.parts if candidate.content is not None else None
    # Thought summaries are not part of the answer.
    text = "".join(part.text for part in parts or [] if part.text and not part.thought)
    finish_reason = str(candidate.finish_reason.value) if candidate.finish_reason else None
    return text, finish_reason


def _usage(response: Any) -> TokenUsage | None:
    metadata = response.usage_metadata
    if metadata is None or metadata.prompt_token_count is None:
        return None
    prompt = metadata.prompt_token_count or 0
    # Thinking tokens are billed as output, so they count as completion tokens.
    completion = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
    total = metadata.total_token_count or prompt + completion
    return TokenUsage(prompt, completion, total)


def _raise_as_provider_error(error: Exception, cancel: CancelToken) -> NoReturn:
    mapped = _provider_error(error, cancel)
    if mapped is error:
        raise error
    raise mapped from error


def _provider_error(error: Exception, cancel: CancelToken) -> Exception:
    """The port error for whatever the SDK raised; unknown exceptions are returned unchanged."""
    from google.genai import errors as genai_errors

    if isinstance(error, ProviderError | ProviderCancelled):
        return error
    if isinstance(error, httpx.HTTPError):
        return transport_failure(error, cancel, PROVIDER_NAME)
    if cancel.cancelled:
        return transport_failure(error, cancel, PROVIDER_NAME)
    if isinstance(error, genai_errors.APIError):
        status_code = error.code if isinstance(error.code, int) else None
        if status_code is None:
            status_code = _RPC_STATUS_CODES.get(str(error.status), 500)
        headers = getattr(error.response, "headers", None)
        return error_for_status(
            status_code,
            error.message or str(error),
            provider=PROVIDER_NAME,
            code=str(error.status) if error.status else None,
            retry_after_seconds=retry_after_seconds(headers) if headers is not None else None,
        )
    if isinstance(error, ValueError):  # JSON or pydantic validation of a malformed body
        return InvalidProviderResponse(f"malformed response: {error}", provider=PROVIDER_NAME)
    return error
