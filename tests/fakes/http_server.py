"""A programmable local HTTP/1.1 server for testing clients of remote HTTP APIs.

Tests queue the exact responses the real service would send (status, headers, a body or a
stream of chunks dribbled at an interval) and then inspect what the client sent. The server also
reports when a client hung up mid-response, which is how cancellation tests see that a call
really closed its connection instead of merely returning early.

Binds 127.0.0.1 on a free port; `close()` stops it and wakes handlers waiting in a dribble.
"""

from __future__ import annotations

import json
import os
import queue
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When set, the response is sent with chunked transfer encoding, one write per item.
    chunks: Sequence[bytes] | None = None
    chunk_interval: float = 0.0
    # After this many chunks the server goes silent (a model stuck mid-generation) until the
    # client hangs up: only a client that closes its connection gets out before its timeout.
    stall_after: int | None = None
    # Hold the response back this long (e.g. a model "thinking"); the wait ends if the client
    # hangs up.
    delay: float = 0.0

    @classmethod
    def json(
        cls, payload: object, status: int = 200, headers: dict[str, str] | None = None
    ) -> FakeResponse:
        return cls(
            status=status,
            headers={"Content-Type": "application/json", **(headers or {})},
            body=json.dumps(payload).encode(),
        )


def split_words(text: str) -> list[str]:
    """Stream pieces of `text` that join back to it exactly (each keeps its trailing space)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


Responder = Callable[[RecordedRequest], FakeResponse]


class FakeHttpServer:
    def __init__(
        self,
        default_responder: Responder | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        # Set when a client closed its connection before a response was complete.
        self.client_disconnected = threading.Event()
        self._queue: queue.SimpleQueue[FakeResponse] = queue.SimpleQueue()
        self._default = default_responder or (lambda _request: FakeResponse(404))
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            # Handshakes happen on first read in the handler thread, not in the accept loop.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def enqueue(self, *responses: FakeResponse) -> None:
        """Answer the next requests with these, in order, before the default responder."""
        for response in responses:
            self._queue.put(response)

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeHttpServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _next_response(self, request: RecordedRequest) -> FakeResponse:
        self.requests.append(request)
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return self._default(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean; requests are recorded instead

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                response = fake._next_response(request)
                try:
                    self._respond(response)
                except (BrokenPipeError, ConnectionResetError):
                    fake.client_disconnected.set()
                    self.close_connection = True

            def _respond(self, response: FakeResponse) -> None:
                if not self._wait_unless_client_gone(response.delay):
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if response.chunks is None:
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    self.wfile.write(response.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for index, chunk in enumerate(response.chunks):
                    pause = 3600.0 if index == response.stall_after else response.chunk_interval
                    if not self._wait_unless_client_gone(pause):
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _wait_unless_client_gone(self, seconds: float) -> bool:
                """Sleep `seconds`; False (and the disconnect recorded) if the client hung up."""
                deadline = time.monotonic() + seconds
                while True:
                    if self._client_gone():
                        fake.client_disconnected.set()
                        self.close_connection = True
                        return False
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or fake._stopping.is_set():
                        return not fake._stopping.is_set()
                    time.sleep(min(remaining, 0.02))

            def _client_gone(self) -> bool:
                # A readable socket with nothing to read means the peer sent FIN (or RST).
                # TLS sockets refuse MSG_PEEK, so look at the TCP stream underneath; there,
                # any bytes mid-response can only be the client's close_notify alert.
                raw = socket.socket(fileno=os.dup(self.connection.fileno()))
                try:
                    readable, _, _ = select.select([raw], [], [], 0)
                    if not readable:
                        return False
                    peeked = raw.recv(1, socket.MSG_PEEK)
                    return peeked == b"" or isinstance(self.connection, ssl.SSLSocket)
                except OSError:
                    return True
                finally:
                    raw.close()

        return Handler
