"""Server-sent events: framing, keep-alives, and the time window a stream stays open.

Production limits the design respects (README, "Event streams"): a Cloud Run request ends at
the function's timeout (60 s by default, up to 60 min for HTTP functions), and Firebase Hosting
cuts a rewritten request at 60 s. So a stream stays open at most `window_seconds()` (50 s by
default, `AIDE_STREAM_WINDOW_S`), then ends cleanly — the last event fully written, the
response closed — and the client reconnects where it left off: EventSource resends the last
`id:` as `Last-Event-ID` by itself; graphql-sse clients send it from the `cursor` in each
result's `extensions`. A comment line every `keepalive_seconds()` (15 s) keeps proxies from
timing the stream out and lets the server notice a client that left (the write fails, the
generator is closed, its listeners are released).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any, Final

from flask import Request, Response

DEFAULT_WINDOW_S: Final = 50.0
DEFAULT_KEEPALIVE_S: Final = 15.0
EVENT_STREAM: Final = "text/event-stream"
LAST_EVENT_ID: Final = "Last-Event-ID"
LISTENING: Final = "listening"
"""The comment a stream sends once its listeners have their first snapshot (changes made after
the client saw it are certain to be streamed)."""


def window_seconds() -> float:
    return float(os.environ.get("AIDE_STREAM_WINDOW_S", DEFAULT_WINDOW_S))


def keepalive_seconds() -> float:
    return float(os.environ.get("AIDE_STREAM_KEEPALIVE_S", DEFAULT_KEEPALIVE_S))


def requested_window(request: Request) -> float:
    """The stream's window: `?window=<seconds>` may shorten it (a client behind a proxy with a
    shorter timeout), never lengthen it."""
    from aide.entrypoints.errors import ValidationFailed

    longest = window_seconds()
    raw = request.args.get("window")
    if raw is None:
        return longest
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1.0 <= value <= longest:
        message = f"window must be a number of seconds between 1 and {longest:g}"
        raise ValidationFailed(
            message, details=[{"field": "window", "message": message, "type": "query"}]
        )
    return value


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One event: `data` is serialised as one line of JSON (None → an empty data line)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data:" if data is None else "data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str = "keep-alive") -> bytes:
    return f": {text}\n\n".encode()


def retry_hint(milliseconds: int) -> bytes:
    """How long EventSource waits before reconnecting once the stream ends."""
    return f"retry: {milliseconds}\n\n".encode()


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def passed(self) -> bool:
        return self.remaining() <= 0


def event_stream(frames: Iterator[bytes], headers: dict[str, str] | None = None) -> Response:
    """A streamed response: nothing buffers it (no Content-Length, no proxy buffering)."""
    response = Response(frames, status=200, mimetype=EVENT_STREAM)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
