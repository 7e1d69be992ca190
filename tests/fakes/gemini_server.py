"""A fake Gemini API (generativelanguage.googleapis.com REST) for the google-genai SDK.

Wire format as the SDK speaks it: POST /{version}/models/{model}:generateContent (the SDK
picks the version: v1 or v1beta) with
`contents`/`systemInstruction`/`generationConfig`, answered by a GenerateContentResponse
(`candidates`, `usageMetadata`, `modelVersion`); POST ...:streamGenerateContent?alt=sse answered
by server-sent events, one GenerateContentResponse per `data:` line; errors as
`{"error": {"code", "message", "status"}}`. Without queued responses it echoes the last user turn.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence

from tests.fakes.http_server import FakeHttpServer, FakeResponse, RecordedRequest, split_words

MODEL_VERSION = "gemini-fake-001"


def _response_payload(
    text: str, finish_reason: str | None, usage: tuple[int, int] | None
) -> dict[str, object]:
    candidate: dict[str, object] = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "index": 0,
    }
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    payload: dict[str, object] = {"candidates": [candidate], "modelVersion": MODEL_VERSION}
    if usage is not None:
        prompt, completion = usage
        payload["usageMetadata"] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion,
            "totalTokenCount": prompt + completion,
        }
    return payload


def generate_response(text: str, *, usage: tuple[int, int] = (12, 5)) -> FakeResponse:
    return FakeResponse.json(_response_payload(text, "STOP", usage))


def stream_response(
    pieces: Sequence[str],
    *,
    usage: tuple[int, int] = (12, 5),
    interval: float = 0.0,
    stall_after: int | None = None,
) -> FakeResponse:
    """SSE: one response per piece; the last carries finishReason and the usage totals."""
    events = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        payload = _response_payload(piece, "STOP" if last else None, usage if last else None)
        events.append(b"data: " + json.dumps(payload).encode() + b"\r\n\r\n")
    return FakeResponse(
        headers={"Content-Type": "text/event-stream"},
        chunks=events,
        chunk_interval=interval,
        stall_after=stall_after,
    )


def blocked_response(reason: str = "SAFETY") -> FakeResponse:
    return FakeResponse.json(
        {"promptFeedback": {"blockReason": reason}, "modelVersion": MODEL_VERSION}
    )


def gemini_error(
    status_code: int, status: str, message: str, headers: dict[str, str] | None = None
) -> FakeResponse:
    return FakeResponse.json(
        {"error": {"code": status_code, "message": message, "status": status}},
        status=status_code,
        headers=headers,
    )


def _echo(request: RecordedRequest) -> FakeResponse:
    if request.method != "POST" or ":" not in request.path:
        return gemini_error(404, "NOT_FOUND", f"unknown path {request.path}")
    contents = request.json().get("contents", [])
    user_turns = [c for c in contents if c.get("role") == "user"]
    text = user_turns[-1]["parts"][0]["text"] if user_turns else ""
    if request.path.endswith(":streamGenerateContent"):
        return stream_response(split_words(text))
    return generate_response(text)


class FakeGeminiServer(FakeHttpServer):
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(default_responder=_echo, tls=tls)
