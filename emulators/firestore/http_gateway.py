"""HTTP/1.1 on the emulator's public port: what a browser's Firebase SDK sends.

* ``OPTIONS *``: CORS preflight — the request's ``Origin`` and
  ``Access-Control-Request-Headers`` echoed, credentials allowed.
* ``/google.firestore.v1.Firestore/{Listen,Write}/channel``: WebChannel (see webchannel.py).
* ``/v1/...``: the REST calls (see rest.py).
* ``GET /``: ``Ok``, as the official emulator answers.

Every response carries the CORS headers (origin echoed, credentials, ``X-HTTP-Session-Id``
exposed) because the SDK sends its XHRs ``withCredentials``.
"""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import grpc

from emulators.firestore import rest
from emulators.firestore.http_status import error_body
from emulators.firestore.triggers import log
from emulators.firestore.webchannel import ChannelRegistry, UnknownSession, encode_chunk

_CHANNEL_PREFIX = "/google.firestore.v1.Firestore/"
_CHANNEL_RPCS = ("Listen", "Write")
_MAX_BODY = 64 * 1024 * 1024
# Keep-alive connections idle this long are closed (browsers reconnect as needed).
_IDLE_CONNECTION_S = 120.0


def make_connection_handler(service: Any, channels: ChannelRegistry) -> Any:
    """A callable serving one accepted HTTP/1.1 connection until it closes."""

    class Handler(_GatewayHandler):
        pass

    Handler.service = service
    Handler.channels = channels

    def serve(conn: socket.socket, address: tuple[str, int]) -> None:
        # No socketserver owns these connections (the multiplexer accepted them).
        Handler(conn, address, cast(Any, None))

    return serve


class _BadRequest(Exception):
    pass


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_CONNECTION_S
    service: Any = None
    channels: ChannelRegistry

    def log_message(self, format: str, *args: Any) -> None:
        pass  # per-request logs would drown test output

    # ------------------------------------------------------------------ plumbing
    def _cors_headers(self) -> None:
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
            self.send_header(
                "Access-Control-Expose-Headers",
                "X-HTTP-Session-Id, X-Client-Wire-Protocol, Content-Type",
            )

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self._cors_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=UTF-8")

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            raise _BadRequest(f"Content-Length must be 0 to {_MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    # ------------------------------------------------------------------ methods
    def do_OPTIONS(self) -> None:
        self.send_response(200)
        self._cors_headers()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:
            self.send_header("Access-Control-Allow-Headers", requested)
        self.send_header("Access-Control-Max-Age", "3600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        try:
            body = self._body() if self.command == "POST" else b""
            if path.startswith(_CHANNEL_PREFIX):
                self._channel(path, parse_qs(url.query), body)
            elif rest.is_rest_path(path):
                status, payload = rest.handle(
                    self.service, self.command, path, body, dict(self.headers.items())
                )
                self._send_json(status, payload)
            elif path == "/" and self.command in ("GET", "HEAD"):
                self._send(200, b"Ok\n", "text/plain; charset=utf-8")
            else:
                self._send_json(404, error_body(grpc.StatusCode.NOT_FOUND, f"Not found: {path}"))
        except _BadRequest as exc:
            self.close_connection = True  # the body, if any, was not read
            self._send_json(400, error_body(grpc.StatusCode.INVALID_ARGUMENT, str(exc)))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a bug: answer it rather than drop the connection
            log("ERROR", "firestore HTTP request failed", path=path, error=repr(exc))
            try:
                self._send_json(500, error_body(grpc.StatusCode.INTERNAL, str(exc)))
            except OSError:
                self.close_connection = True

    # ------------------------------------------------------------------ WebChannel
    def _channel(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        rpc, _, tail = path[len(_CHANNEL_PREFIX) :].partition("/")
        if rpc not in _CHANNEL_RPCS or tail != "channel":
            self._send_json(404, error_body(grpc.StatusCode.NOT_FOUND, f"Not found: {path}"))
            return

        def param(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        sid = param("SID")
        kind = param("TYPE")
        text = body.decode("utf-8", errors="replace")
        if kind == "terminate":
            if sid:
                self.channels.terminate(sid)
            self._send(200, b"", "text/plain; charset=utf-8")
            return
        if self.command == "POST" and (sid is None or sid == "null"):
            session, handshake = self.channels.handshake(rpc, text)
            self._send(
                200,
                encode_chunk(handshake),
                "application/javascript; charset=utf-8",
                {"X-HTTP-Session-Id": session.sid, "X-Content-Type-Options": "nosniff"},
            )
            return
        if sid is None:
            self._send(400, b"Missing SID", "text/plain; charset=utf-8")
            return
        try:
            aid = int(param("AID") or "0")
            timeout_ms = int(param("TO") or "0") or None
        except ValueError:
            self._send(400, b"Bad AID", "text/plain; charset=utf-8")
            return
        try:
            if self.command == "POST":
                answer = self.channels.forward(sid, text, aid if "AID" in query else None)
                self._send(200, encode_chunk(answer), "application/javascript; charset=utf-8")
                return
            session = self.channels.get(sid)
        except UnknownSession:
            self._send(400, b"<html><body>Unknown SID</body></html>", "text/html; charset=utf-8")
            return
        self._backchannel(session.backchannel(aid, param("CI") != "1", timeout_ms))

    def _backchannel(self, chunks: Any) -> None:
        """Stream ``chunks`` with HTTP chunked encoding as each becomes available."""
        self.send_response(200)
        self._cors_headers()
        self.send_header("Content-Type", "application/javascript; charset=utf-8")
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        finally:
            chunks.close()
