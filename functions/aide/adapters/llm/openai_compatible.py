"""OpenAI Chat Completions over plain HTTP: OpenAI, Ollama, vLLM, llama.cpp server, LiteLLM.

httpx instead of the openai SDK keeps cold starts small; the protocol surface used is tiny:
POST {base_url}/chat/completions, optionally with `stream: true` (server-sent events ending in
`data: [DONE]`, usage in the last chunk thanks to `stream_options.include_usage`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import httpx

from aide.adapters.llm.cancellable_http import cancellable_call, request_timeout, shared_client
from aide.adapters.llm.http_errors import retry_after_seconds, transport_failure
from aide.domain.llm import (
    CancelToken,
    Completion,
    CompletionRequest,
    InvalidProviderRequest,
    InvalidProviderResponse,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamedCompletion,
    StreamEvent,
    TokenUsage,
    error_for_status,
    estimated_usage,
)

PROVIDER_NAME: Final = "openai_compatible"
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
# Error `type`s OpenAI documents for failures of the request itself rather than of the server.
_PERMANENT_STREAM_ERROR_TYPES: Final = frozenset(
    {"invalid_request_error", "authentication_error", "permission_error", "not_found_error"}
)


class OpenAICompatibleProvider:
    name: Final = PROVIDER_NAME

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: Callable[[], str | None] = lambda: None,
        *,
        # OpenAI's newest models accept only `max_completion_tokens`; most local servers only
        # know `max_tokens`.
        max_tokens_field: str = "max_tokens",
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self._max_tokens_field = max_tokens_field
        self._client = client
        self._clock = clock

    def complete(self, request: CompletionRequest, cancel: CancelToken) -> Completion:
        cancel.raise_if_cancelled()
        with cancellable_call(cancel):
            try:
                response = self._http().post(
                    self._url,
                    json=self._body(request, stream=False),
                    headers=self._headers(),
                    timeout=request_timeout(request.options.timeout_seconds),
                )
            except httpx.HTTPError as error:
                raise transport_failure(error, cancel, PROVIDER_NAME) from error
        cancel.raise_if_cancelled()
        if response.status_code >= 400:
            raise _http_error(response)
        return _completion(_json_object(response.text), request)

    def stream(self, request: CompletionRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        cancel.raise_if_cancelled()
        deadline = self._clock() + request.options.timeout_seconds
        with cancellable_call(cancel):
            try:
                with self._http().stream(
                    "POST",
                    self._url,
                    json=self._body(request, stream=True),
                    headers=self._headers(),
                    timeout=request_timeout(request.options.timeout_seconds),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise _http_error(response)
                    yield from self._stream_events(response, request, cancel, deadline)
            except httpx.HTTPError as error:
                raise transport_failure(error, cancel, PROVIDER_NAME) from error

    def _stream_events(
        self,
        response: httpx.Response,
        request: CompletionRequest,
        cancel: CancelToken,
        deadline: float,
    ) -> Iterator[StreamEvent]:
        streamed = StreamedCompletion(request, PROVIDER_NAME)
        for line in response.iter_lines():
            cancel.raise_if_cancelled()
            if self._clock() > deadline:
                raise ProviderTimeout("stream exceeded its time budget", provider=PROVIDER_NAME)
            if not line.startswith("data:"):
                continue  # blank separators, `: keep-alive` comments, `event:` lines
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                yield streamed.completion()
                return
            chunk = _json_object(data)
            if "error" in chunk:
                raise _stream_error(chunk["error"])
            streamed.model = str(chunk.get("model") or streamed.model)
            streamed.usage = _usage(chunk.get("usage")) or streamed.usage
            for choice in chunk.get("choices") or ():
                if not isinstance(choice, Mapping):
                    raise InvalidProviderResponse("stream choice is not an object")
                delta = choice.get("delta") or {}
                content = delta.get("content") if isinstance(delta, Mapping) else None
                if content:
                    yield streamed.delta(str(content))
                streamed.finish_reason = choice.get("finish_reason") or streamed.finish_reason
        cancel.raise_if_cancelled()
        raise ProviderConnectionError("stream ended before [DONE]", provider=PROVIDER_NAME)

    def _http(self) -> httpx.Client:
        return self._client if self._client is not None else shared_client()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        key = self._api_key()
        if key:  # Ollama and llama.cpp servers run without keys
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        messages = (
            [{"role": "system", "content": request.system_prompt}] if request.system_prompt else []
        )
        messages += [{"role": str(m.role), "content": m.content} for m in request.messages]
        body: dict[str, Any] = {"model": request.model, "messages": messages}
        if request.options.temperature is not None:
            body["temperature"] = request.options.temperature
        if request.options.max_tokens is not None:
            body[self._max_tokens_field] = request.options.max_tokens
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidProviderResponse(
            f"response is not JSON: {text[:200]!r}", provider=PROVIDER_NAME
        ) from error
    if not isinstance(value, dict):
        raise InvalidProviderResponse("response is not a JSON object", provider=PROVIDER_NAME)
    return value


def _completion(payload: Mapping[str, Any], request: CompletionRequest) -> Completion:
    try:
        choice = payload["choices"][0]
        text = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise InvalidProviderResponse(
            f"response has no choices[0].message: {json.dumps(payload)[:200]}",
            provider=PROVIDER_NAME,
        ) from error
    return Completion(
        text=str(text),
        usage=_usage(payload.get("usage")) or estimated_usage(request, str(text)),
        model=str(payload.get("model") or request.model),
        provider=PROVIDER_NAME,
        finish_reason=choice.get("finish_reason"),
    )


def _usage(raw: object) -> TokenUsage | None:
    if not isinstance(raw, Mapping):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    total = raw.get("total_tokens")
    return TokenUsage(prompt, completion, total if isinstance(total, int) else prompt + completion)


def _error_fields(body: object) -> tuple[str | None, str | None]:
    """(message, code) from `{"error": {...}}`, `{"error": "..."}` (Ollama) or vLLM's flat form."""
    if not isinstance(body, Mapping):
        return None, None
    error = body.get("error", body)
    if isinstance(error, str):
        return error, None
    if not isinstance(error, Mapping):
        return None, None
    message = error.get("message")
    code = error.get("code") or error.get("type")
    return (str(message) if message else None), (str(code) if code else None)


def _http_error(response: httpx.Response) -> ProviderError:
    try:
        message, code = _error_fields(response.json())
    except ValueError:
        message, code = response.text[:500] or None, None
    return error_for_status(
        response.status_code,
        message or f"HTTP {response.status_code}",
        provider=PROVIDER_NAME,
        code=code,
        retry_after_seconds=retry_after_seconds(response.headers),
    )


def _stream_error(error: object) -> ProviderError:
    """An error event inside a 200 stream: no status code, so classify by its type."""
    message, code = _error_fields({"error": error})
    error_type = error.get("type") if isinstance(error, Mapping) else None
    error_class = (
        InvalidProviderRequest
        if error_type in _PERMANENT_STREAM_ERROR_TYPES
        else ProviderUnavailable
    )
    return error_class(message or "error in stream", provider=PROVIDER_NAME, code=code)
