"""One public port for gRPC and HTTP/1.1, as the official emulator serves them.

grpcio cannot share its listening socket, and browsers speak HTTP/1.1 (WebChannel, REST)
while every other client speaks gRPC (HTTP/2). So this listener owns the public port and
looks at the first bytes of each connection:

* the HTTP/2 connection preface (``PRI * HTTP/2.0``): the connection is joined to grpcio,
  which listens on a Unix socket of its own, by a byte pump: two threads per connection moving
  data with ``os.splice`` (kernel-side copies through a pipe; the GIL is released during each
  call). A Unix socket rather than a second TCP port costs noticeably less per message.
* anything else: the connection is handed to the HTTP/1.1 handler on its own thread.

Why not a pump over TCP, or an HTTP/2 server in Python: measured on the emulator benchmark's
single-document commits, a TCP byte pump cost 6-12% of throughput, the Unix-socket pump ~4%.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable

_PREFACE = b"PRI "
# A client that connects and sends nothing is dropped after this long.
_FIRST_BYTES_TIMEOUT_S = 30.0
_SPLICE_CHUNK = 1 << 20

HttpHandler = Callable[[socket.socket, tuple[str, int]], None]


class Multiplexer:
    """Accepts on ``host:port``; gRPC goes to ``grpc_socket_path``, HTTP/1.1 to ``http``."""

    def __init__(self, host: str, port: int, grpc_socket_path: str, http: HttpHandler) -> None:
        self._grpc_path = grpc_socket_path
        self._http = http
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=512)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._accept_loop, name="firestore-front", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ connections
    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._stopping:
                return False
            self._open.add(sock)
            return True

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        sock.close()

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                conn, address = self._listener.accept()
            except OSError:
                return
            if not self._track(conn):
                conn.close()
                return
            threading.Thread(
                target=self._serve, args=(conn, address), name="firestore-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket, address: tuple[str, int]) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            first = _peek(conn, len(_PREFACE))
            if not first:
                return
            if first == _PREFACE:
                self._pump_to_grpc(conn)
            else:
                self._http(conn, address)
        except OSError:
            pass
        finally:
            self._untrack(conn)

    def _pump_to_grpc(self, conn: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if not self._track(upstream):
            upstream.close()
            return
        try:
            upstream.connect(self._grpc_path)
            back = threading.Thread(
                target=_splice_until_closed,
                args=(upstream, conn),
                name="firestore-pump",
                daemon=True,
            )
            back.start()
            _splice_until_closed(conn, upstream)
            back.join()
        finally:
            self._untrack(upstream)


def _peek(conn: socket.socket, size: int) -> bytes:
    """The first ``size`` bytes (fewer if the peer closes first), left unread."""
    conn.settimeout(_FIRST_BYTES_TIMEOUT_S)
    deadline = time.monotonic() + _FIRST_BYTES_TIMEOUT_S
    try:
        while True:
            data = conn.recv(size, socket.MSG_PEEK)
            if len(data) >= size or not data:
                return data
            if not _PREFACE.startswith(data):
                return data  # already not HTTP/2: no need to wait for more
            if time.monotonic() > deadline:
                return b""
            time.sleep(0.001)  # a partial preface: the rest is on its way
    except TimeoutError:
        return b""
    finally:
        conn.settimeout(None)


def _splice_until_closed(source: socket.socket, sink: socket.socket) -> None:
    """Move bytes from ``source`` to ``sink`` until either side closes."""
    read_end, write_end = os.pipe()
    source_fd, sink_fd = source.fileno(), sink.fileno()
    try:
        while True:
            moved = os.splice(source_fd, write_end, _SPLICE_CHUNK)
            if not moved:
                break
            while moved:
                moved -= os.splice(read_end, sink_fd, moved)
    except OSError:
        pass
    finally:
        os.close(read_end)
        os.close(write_end)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
