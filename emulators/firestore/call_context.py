"""What the service needs of a ``grpc.ServicerContext``, for calls that arrive over HTTP/1.1.

REST and WebChannel requests run through the very same ``FirestoreService`` methods as gRPC
calls; the service only asks a context for the caller's metadata (rules) and, for streams,
whether the call is still active and what to do when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping


class HttpCallContext:
    """A call's metadata (lower-case header names) and its active/ended state."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._metadata = tuple((key.lower(), value) for key, value in headers.items())
        self._lock = threading.Lock()
        self._active = True
        self._callbacks: list[Callable[[], None]] = []

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def is_active(self) -> bool:
        return self._active

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._active:
                self._callbacks.append(callback)
                return True
        return False

    def end(self) -> None:
        """The call is over (client gone, session expired, emulator stopping)."""
        with self._lock:
            if not self._active:
                return
            self._active = False
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()
