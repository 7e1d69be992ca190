"""The admin HTTP API (a separate port): clearing, costs, triggers, index enforcement, config.

Routes (JSON bodies and responses):

* ``GET /`` → ``Ok``
* ``DELETE /emulator/v1/projects/{p}/databases/{d}/documents`` → clear that database
* ``GET|DELETE /emulator/v1/projects/{p}/costs`` → read / reset the project's billed counts
* ``GET|PUT /emulator/v1/projects/{p}/triggers`` (``{"triggers": [...]}``)
* ``PUT /emulator/v1/projects/{p}/indexes`` (a firestore.indexes.json, or ``{"enforce": false}``)
* ``PUT|GET|DELETE /emulator/v1/projects/{p}/rules`` (firestore.rules text body)
* ``PUT /emulator/v1/projects/{p}:securityRules`` (the official emulator's
  ``{"rules": {"files": [{"content": ...}]}}``)
* ``PUT /emulator/v1/config`` (``{"duplicateTriggerDelivery": bool}``)
* ``GET|PUT /emulator/v1/faults`` (``{"triggerLossRate": 0..1, "triggerLossSeed": int,
  "triggerLossOnly": [trigger names]}``) → the rate, the deliveries dropped on purpose and
  those that failed
* ``POST /emulator/v1/triggers:flush`` → returns once pending trigger deliveries are done
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

from emulators.firestore.triggers import log


class AdminBackend(Protocol):
    def clear(self, project: str | None = None, database: str = "(default)") -> None: ...
    def costs(self, project: str) -> dict[str, int]: ...
    def reset_costs(self, project: str | None = None) -> None: ...
    def set_triggers(self, project: str, triggers: list[dict[str, Any]]) -> None: ...
    def get_triggers(self, project: str) -> list[dict[str, str]]: ...
    def set_indexes(self, project: str, indexes: dict[str, Any] | None) -> None: ...
    def set_rules(self, project: str, source: str | None) -> None: ...
    def get_rules(self, project: str) -> str | None: ...
    def set_duplicate_delivery(self, enabled: bool) -> None: ...
    def set_trigger_loss(self, rate: float, seed: int = 0, only: Sequence[str] = ()) -> None: ...
    def trigger_faults(self) -> dict[str, Any]: ...
    def flush_triggers(self, timeout: float = 30.0) -> bool: ...


_DOCUMENTS = re.compile(r"^/emulator/v1/projects/([^/]+)/databases/([^/]+)/documents$")
_PROJECT = re.compile(r"^/emulator/v1/projects/([^/:]+)/(costs|triggers|indexes|rules)$")
_SECURITY_RULES = re.compile(r"^/emulator/v1/projects/([^/:]+):securityRules$")


class _BadRequest(Exception):
    pass


def make_admin_server(backend: AdminBackend, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request logs would drown test output; failures are reported as JSON lines

        def _reply(self, status: int, body: Any) -> None:
            if isinstance(body, str):
                payload, content_type = body.encode(), "text/plain; charset=utf-8"
            else:
                payload, content_type = json.dumps(body).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise _BadRequest(f"invalid JSON body: {exc}") from None

        def _text(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _BadRequest("the body is not UTF-8 text") from None

        def _set_rules(self, project: str, source: str | None) -> tuple[int, Any]:
            from emulators.firestore.rules import RulesSyntaxError

            try:
                backend.set_rules(project, source)
            except RulesSyntaxError as exc:
                return 400, {"error": str(exc), "line": exc.line}
            return 200, {}

        def _dispatch(self, method: str) -> None:
            path = unquote(self.path.split("?", 1)[0])
            try:
                status, body = self._route(method, path)
            except _BadRequest as exc:
                status, body = 400, {"error": str(exc)}
            except (KeyError, TypeError, ValueError) as exc:
                status, body = 400, {"error": f"{type(exc).__name__}: {exc}"}
            except Exception as exc:
                log("ERROR", f"admin request {method} {path} failed: {exc!r}")
                status, body = 500, {"error": repr(exc)}
            self._reply(status, body)

        def _route(self, method: str, path: str) -> tuple[int, Any]:
            if path in ("", "/") and method == "GET":
                return 200, "Ok"
            match = _DOCUMENTS.match(path)
            if match and method == "DELETE":
                backend.clear(match.group(1), match.group(2))
                return 200, {}
            match = _PROJECT.match(path)
            if match:
                project, resource = match.groups()
                if resource == "costs" and method == "GET":
                    return 200, backend.costs(project)
                if resource == "costs" and method == "DELETE":
                    backend.reset_costs(project)
                    return 200, {}
                if resource == "triggers" and method == "PUT":
                    backend.set_triggers(project, list(self._json().get("triggers", [])))
                    return 200, {"triggers": backend.get_triggers(project)}
                if resource == "triggers" and method == "GET":
                    return 200, {"triggers": backend.get_triggers(project)}
                if resource == "rules" and method == "PUT":
                    text = self._text()
                    return self._set_rules(project, text if text.strip() else None)
                if resource == "rules" and method == "DELETE":
                    return self._set_rules(project, None)
                if resource == "rules" and method == "GET":
                    source = backend.get_rules(project)
                    return (404, {"error": "no rules"}) if source is None else (200, source)
                if resource == "indexes" and method == "PUT":
                    body = self._json()
                    backend.set_indexes(project, None if body.get("enforce") is False else body)
                    return 200, {}
            match = _SECURITY_RULES.match(path)
            if match and method == "PUT":
                files = self._json().get("rules", {}).get("files", [])
                if not files or not isinstance(files[0], dict) or "content" not in files[0]:
                    raise _BadRequest('expected {"rules": {"files": [{"content": "..."}]}}')
                return self._set_rules(match.group(1), str(files[0]["content"]))
            if path == "/emulator/v1/config" and method == "PUT":
                body = self._json()
                if "duplicateTriggerDelivery" in body:
                    backend.set_duplicate_delivery(bool(body["duplicateTriggerDelivery"]))
                return 200, {}
            if path == "/emulator/v1/faults" and method == "PUT":
                body = self._json()
                try:
                    backend.set_trigger_loss(
                        float(body.get("triggerLossRate", 0.0)),
                        int(body.get("triggerLossSeed", 0)),
                        [str(name) for name in body.get("triggerLossOnly") or ()],
                    )
                except (TypeError, ValueError) as error:
                    raise _BadRequest(str(error)) from error
                return 200, backend.trigger_faults()
            if path == "/emulator/v1/faults" and method == "GET":
                return 200, backend.trigger_faults()
            if path == "/emulator/v1/triggers:flush" and method == "POST":
                done = backend.flush_triggers()
                return (200, {}) if done else (504, {"error": "trigger deliveries still pending"})
            return 404, {"error": f"no route for {method} {path}"}

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="firestore-admin"
    )
    thread.daemon = True
    thread.start()
    return thread
