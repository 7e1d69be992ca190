"""Cancelling a provider stream from another thread while it is blocked mid-read."""

from __future__ import annotations

import threading
import time

from aide.domain.llm import CancelToken


class CancelAfterDeltas:
    """An `on_delta` callback: after `count` deltas, another thread cancels `cancel`.

    It cancels slightly later, from its own thread, as a user's cancel arrives: by then the call
    is blocked reading the next chunk, which a stalled fake server never sends.
    """

    def __init__(self, cancel: CancelToken, count: int = 2) -> None:
        self.received: list[str] = []
        self.cancelled_at: float | None = None
        self._cancel = cancel
        self._count = count
        self._reached = threading.Event()
        threading.Thread(target=self._cancel_when_reached, daemon=True).start()

    def __call__(self, text: str) -> None:
        self.received.append(text)
        if len(self.received) == self._count:
            self._reached.set()

    def seconds_since_cancel(self) -> float:
        assert self.cancelled_at is not None, "the stream ended before it was cancelled"
        return time.monotonic() - self.cancelled_at

    def _cancel_when_reached(self) -> None:
        if not self._reached.wait(60):
            return
        time.sleep(0.1)
        self.cancelled_at = time.monotonic()
        self._cancel.cancel("user cancelled")
