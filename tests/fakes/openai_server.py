"""A fake OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM, llama.cpp dialect).

Wire format as documented by OpenAI: POST /v1/chat/completions; JSON reply with `choices` and
`usage`; with `stream: true` server-sent events `data: {chat.completion.chunk}` ending in
`data: [DONE]`, the usage in a final chunk with empty `choices` when
`stream_options.include_usage` is set; errors as `{"error": {"message", "type", "code"}}`.
Without queued responses it echoes the last user message.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence

from tests.fakes.http_server import FakeHttpServer, FakeResponse, RecordedRequest, split_words

_COMPLETION_ID = "chatcmpl-fake"
_CREATED = 1_700_000_000


def chat_completion(
    text: str,
    *,
    model: str = "fake-model",
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    finish_reason: str = "stop",
) -> FakeResponse:
    return FakeResponse.json(
        {
            "id": _COMPLETION_ID,
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def _event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _chunk(model: str, delta: dict[str, str], finish_reason: str | None) -> bytes:
    return _event(
        {
            "id": _COMPLETION_ID,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
    )


def chat_stream(
    pieces: Sequence[str],
    *,
    model: str = "fake-model",
    usage: tuple[int, int] | None = (11, 7),
    interval: float = 0.0,
    stall_after: int | None = None,
    done: bool = True,
) -> FakeResponse:
    """An SSE stream: role chunk, one chunk per piece, finish chunk, usage chunk, [DONE]."""
    events = [b": keep-alive comment\n\n", _chunk(model, {"role": "assistant"}, None)]
    events += [_chunk(model, {"content": piece}, None) for piece in pieces]
    events.append(_chunk(model, {}, "stop"))
    if usage is not None:
        prompt, completion = usage
        events.append(
            _event(
                {
                    "id": _COMPLETION_ID,
                    "object": "chat.completion.chunk",
                    "created": _CREATED,
                    "model": model,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
            )
        )
    if done:
        events.append(b"data: [DONE]\n\n")
    return FakeResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        chunks=events,
        chunk_interval=interval,
        stall_after=stall_after,
    )


def openai_error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> FakeResponse:
    return FakeResponse.json(
        {"error": {"message": message, "type": error_type, "param": None, "code": code}},
        status=status,
        headers=headers,
    )


def _echo(request: RecordedRequest) -> FakeResponse:
    if request.method != "POST" or not request.path.endswith("/chat/completions"):
        return openai_error(404, f"unknown path {request.path}", code="not_found")
    body = request.json()
    last_user = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    if body.get("stream"):
        return chat_stream(split_words(last_user), model=body["model"])
    return chat_completion(last_user, model=body["model"])


class FakeOpenAIServer(FakeHttpServer):
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(default_responder=_echo, tls=tls)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"
