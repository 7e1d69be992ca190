"""Admin HTTP API of the Pub/Sub emulator (stdlib server on its own port).

GET    /                                          -> "Ok"
GET    /emulator/v1/projects/{p}/pushSubscriptions -> {"subscriptions": [...]}
PUT    /emulator/v1/projects/{p}/pushSubscriptions {"subscriptions": [...]} (replaces)
GET    /emulator/v1/projects/{p}/deadLetters       -> {"deadLetters": [...]}
GET    /emulator/v1/projects/{p}/deliveries        -> {"deliveries": [...]}
DELETE /emulator/v1/projects/{p}                   (forget the project)
GET    /emulator/v1/config                         -> {"duplicateDelivery": bool}
PUT    /emulator/v1/config {"duplicateDelivery": bool}
GET    /emulator/v1/faults                         -> rates and counts of injected push faults
PUT    /emulator/v1/faults {"pushFailureRate": 0..1, "pushTimeoutRate": 0..1, "faultSeed": int}
POST   /emulator/v1/idle:wait?timeout=10           -> 200 {"idle": true} | 503 {"idle": false}
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from emulators.pubsub.errors import PubSubError

if TYPE_CHECKING:
    from emulators.pubsub.emulator import PubSubEmulator

_PROJECT = re.compile(r"^/emulator/v1/projects/(?P<project>[^/]+)(?P<rest>/[A-Za-z]+)?$")
MAX_IDLE_WAIT_SECONDS = 300.0


class _Handler(BaseHTTPRequestHandler):
    server: _AdminHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the admin API is chatty in tests; errors are answered, not logged

    def do_GET(self) -> None:
        self._route("GET")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        emulator = self.server.emulator
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/" and method == "GET":
                return self._send(HTTPStatus.OK, "Ok")
            if url.path == "/emulator/v1/config":
                if method == "PUT":
                    body = self._json()
                    if "duplicateDelivery" in body:
                        emulator.set_duplicate_delivery(bool(body["duplicateDelivery"]))
                if method in ("GET", "PUT"):
                    return self._send_json({"duplicateDelivery": emulator.duplicate_delivery})
            if url.path == "/emulator/v1/faults" and method in ("GET", "PUT"):
                if method == "PUT":
                    body = self._json()
                    emulator.set_push_faults(
                        float(body.get("pushFailureRate", 0.0)),
                        float(body.get("pushTimeoutRate", 0.0)),
                        int(body.get("faultSeed", 0)),
                    )
                return self._send_json(emulator.push_faults())
            if url.path == "/emulator/v1/idle:wait" and method == "POST":
                query = urllib.parse.parse_qs(url.query)
                timeout = min(float(query.get("timeout", ["10"])[0]), MAX_IDLE_WAIT_SECONDS)
                idle = emulator.wait_idle(timeout)
                status = HTTPStatus.OK if idle else HTTPStatus.SERVICE_UNAVAILABLE
                return self._send_json({"idle": idle}, status)
            match = _PROJECT.match(url.path)
            if match is not None:
                return self._project(method, match["project"], match["rest"] or "")
            self._send_json({"error": f"no route for {method} {url.path}"}, HTTPStatus.NOT_FOUND)
        except (PubSubError, ValueError, KeyError, TypeError) as error:
            message = error.message if isinstance(error, PubSubError) else str(error)
            self._send_json({"error": message}, HTTPStatus.BAD_REQUEST)

    def _project(self, method: str, project: str, rest: str) -> None:
        emulator = self.server.emulator
        if rest == "/pushSubscriptions" and method == "PUT":
            specs = self._json().get("subscriptions", [])
            if not isinstance(specs, list):
                raise ValueError("subscriptions must be a list")
            emulator.set_push_subscriptions(project, specs)
            return self._send_json({"subscriptions": emulator.push_subscriptions(project)})
        if rest == "/pushSubscriptions" and method == "GET":
            return self._send_json({"subscriptions": emulator.push_subscriptions(project)})
        if rest == "/deadLetters" and method == "GET":
            return self._send_json({"deadLetters": emulator.dead_letters(project)})
        if rest == "/deliveries" and method == "GET":
            return self._send_json({"deliveries": emulator.deliveries(project)})
        if rest == "" and method == "DELETE":
            emulator.clear(project)
            return self._send_json({})
        self._send_json({"error": f"no route for {method} {self.path}"}, HTTPStatus.NOT_FOUND)

    def _json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        return body

    def _send_json(self, body: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(body), "application/json")

    def _send(self, status: HTTPStatus, text: str, content_type: str = "text/plain") -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _AdminHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: PubSubEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator


class AdminServer:
    def __init__(self, emulator: PubSubEmulator, host: str, port: int) -> None:
        self._server = _AdminHttpServer((host, port), emulator)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="pubsub-admin",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self.close()
        self._thread.join(5)

    def close(self) -> None:
        """Releases the port; enough on its own when the server never started."""
        self._server.server_close()
