"""Reading a server-sent event stream in tests and benchmarks (a plain parser, as EventSource
parses: `id`, `event`, `data` lines; comments ignored)."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None
    received_at: float

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


class EventReader:
    """Reads a stream in a thread; `next(timeout)` gives the events in order, None at the end."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._events: queue.SimpleQueue[ServerEvent | None] = queue.SimpleQueue()
        self.comments = 0
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                line = raw if isinstance(raw, str) else raw.decode()
                if line == "":
                    if "event" in fields or "data" in fields:
                        self._events.put(
                            ServerEvent(
                                fields.get("event", "message"),
                                fields.get("data", ""),
                                fields.get("id"),
                                time.monotonic(),
                            )
                        )
                    fields = {}
                elif line.startswith(":"):
                    self.comments += 1
                    if line[1:].strip() == "listening":
                        self.listening.set()
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data" and "data" in fields:
                        value = fields["data"] + "\n" + value
                    fields[name] = value
        except (requests.RequestException, OSError, ValueError, AttributeError):
            # AttributeError: the response was closed by the test while this thread read it.
            pass
        finally:
            self._events.put(None)

    def next(self, timeout: float = 30.0) -> ServerEvent | None:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty as error:
            raise AssertionError(f"no event within {timeout} s") from error

    def until(self, predicate: Any, timeout: float = 30.0) -> tuple[ServerEvent, list[ServerEvent]]:
        """Events until one satisfies `predicate`: (that one, every event seen before it)."""
        seen: list[ServerEvent] = []
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.1, deadline - time.monotonic()))
            if event is None:
                raise AssertionError(f"stream ended before the event; saw {seen}")
            if predicate(event):
                return event, seen
            seen.append(event)

    def close(self) -> None:
        self.response.close()
