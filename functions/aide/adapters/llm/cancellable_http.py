"""An httpx client whose in-flight requests a CancelToken can abort from another thread.

A thread blocked reading a socket is not woken by closing that socket elsewhere (Linux keeps the
descriptor alive until the read returns); `shutdown()` does wake it, and it also sends the FIN
that tells the server to stop generating. So every socket a call opens is tracked (httpcore's
`trace` extension reports each connection as it is made) and shut down when the call's token
is cancelled. The blocked read then fails, and the adapter turns that into ProviderCancelled.

The same client serves the OpenAI-compatible adapter and the google-genai SDK (passed to it as
`httpx_client`); the active token travels in a context variable, so SDK code in between needs
no knowledge of it.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from aide.domain.llm import CancelToken


class _CallSockets:
    """The sockets opened on behalf of one provider call."""

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def trace(self, event_name: str, info: dict[str, Any]) -> None:
        # TLS wraps (and detaches) the TCP socket, so track whatever stream each step returns.
        if event_name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.track(info.get("return_value"))

    def track(self, network_stream: Any) -> None:
        if network_stream is None:
            return
        sock = network_stream.get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
        if self.cancel.cancelled:
            _shutdown(sock)

    def shutdown_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or detached by TLS
        sock.shutdown(socket.SHUT_RDWR)


_active_call: contextvars.ContextVar[_CallSockets | None] = contextvars.ContextVar(
    "aide_llm_active_call", default=None
)


class _CancellableTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        call = _active_call.get()
        if call is not None:
            call.cancel.raise_if_cancelled()
            request.extensions = {**request.extensions, "trace": call.trace}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@contextlib.contextmanager
def cancellable_call(cancel: CancelToken) -> Iterator[None]:
    """Scope in which requests sent through a `new_client()` client abort when `cancel` fires."""
    call = _CallSockets(cancel)
    previous = _active_call.get()
    _active_call.set(call)
    unregister = cancel.on_cancel(call.shutdown_all)
    try:
        yield
    finally:
        unregister()
        # set, not reset: a stream generator may be finalised in another context than it began.
        _active_call.set(previous)


_client_lock = threading.Lock()
_client: httpx.Client | None = None


def shared_client() -> httpx.Client:
    """The process-wide client (thread-safe) for provider calls."""
    global _client
    with _client_lock:
        if _client is None:
            _client = new_client()
        return _client


def new_client(verify: ssl.SSLContext | bool = True) -> httpx.Client:
    """A client whose requests honour `cancellable_call`.

    Keep-alive is off: a reused pooled connection is not reported by the trace hook until its
    response headers arrive, so a call waiting on it could not be aborted. One TCP/TLS setup
    per LLM call is negligible next to the generation time.
    """
    transport = httpx.HTTPTransport(
        verify=verify, limits=httpx.Limits(max_connections=100, max_keepalive_connections=0)
    )
    return httpx.Client(transport=_CancellableTransport(transport))


def request_timeout(total_seconds: float) -> httpx.Timeout:
    """httpx timeouts for one call: connecting is bounded separately so a dead host fails fast."""
    return httpx.Timeout(total_seconds, connect=min(total_seconds, 10.0))
