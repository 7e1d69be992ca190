"""A local Firebase Hosting: the built web app and firebase.json's rewrites on one port.

Order of responses, as Hosting documents it: reserved `/__/` URLs, redirects, an exact static
file of `public` (an `index.html` for a directory), rewrites (the first match: a `destination`
is served from `public`, a `function` is proxied to the functions host), then `404.html` or a
plain 404. A function rewrite sends the request with its original path, as Hosting does, to
`{functions}/{project}/{region}/{functionId}{path}` — so the function sees `/api/tasks/abc` and
strips its `/api/<resource>` prefix exactly as in production.

`/__/firebase/init.json` answers the web app's Firebase config, as Hosting does for a deployed
site; locally it also names the Auth and Firestore emulators the app must connect to.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from emulators.hosting.config import HostingConfig
from emulators.json_log import JsonLog

INIT_JSON_PATH = "/__/firebase/init.json"
# Hop-by-hop headers (RFC 9110 7.6.1) are never forwarded by a proxy; Host names the upstream.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
PROXY_TIMEOUT_S = 300.0
_STREAM_CHUNK = 64 * 1024


class HostingApp:
    """The WSGI application: static files of `config.public` plus the rewrites."""

    def __init__(
        self,
        config: HostingConfig,
        functions_url: str,
        project: str,
        init_json: dict[str, Any] | None = None,
        log: JsonLog | None = None,
    ) -> None:
        self.config = config
        self.functions_url = functions_url.rstrip("/")
        self.project = project
        self.init_json = init_json
        self._log = log or JsonLog("hosting")
        self._session = requests.Session()
        # Forward exactly the client's headers: no User-Agent or Accept-Encoding of our own.
        self._session.headers.clear()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        response = self.respond(request)
        self._log.write(
            "INFO" if response.status_code < 500 else "ERROR",
            f"{request.method} {request.path} {response.status_code}",
            latencyMs=round((time.monotonic() - started) * 1000, 1),
        )
        return response(environ, start_response)

    # Routing ------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/__/"):
            return self._reserved(path)
        redirect = self.config.redirect_for(path)
        if redirect is not None:
            return Response(status=redirect.status, headers={"Location": redirect.destination})
        static = self._static_file(path)
        if static is not None:
            return self._file_response(request, static, path)
        rewrite = self.config.rewrite_for(path)
        if rewrite is not None:
            if rewrite.function is not None:
                return self._proxy(request, rewrite.function, rewrite.region)
            assert rewrite.destination is not None
            target = self._static_file(rewrite.destination)
            if target is not None:
                return self._file_response(request, target, path)
        return self._not_found(request)

    def _reserved(self, path: str) -> Response:
        if path == INIT_JSON_PATH and self.init_json is not None:
            return Response(
                json.dumps(self.init_json),
                content_type="application/json",
                headers={"Cache-Control": "no-cache"},
            )
        return Response("Not Found", status=404, content_type="text/plain")

    # Static files -------------------------------------------------------------------------

    def _static_file(self, path: str) -> Path | None:
        """The file of `public` that `path` names exactly (a directory's `index.html`), unless
        it is outside `public` or ignored (never deployed)."""
        relative = path.lstrip("/")
        candidate = (self.config.public / relative).resolve()
        try:
            inside = candidate.relative_to(self.config.public)
        except ValueError:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
            inside = inside / "index.html"
        if not candidate.is_file() or self.config.is_ignored(inside.as_posix()):
            return None
        return candidate

    def _file_response(self, request: Request, file: Path, path: str) -> Response:
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in (
            "application/javascript",
            "application/json",
        ):
            content_type += "; charset=utf-8"
        handle = file.open("rb")
        response = Response(
            wrap_file(request.environ, handle), content_type=content_type, direct_passthrough=True
        )
        stat = file.stat()
        response.content_length = stat.st_size
        response.last_modified = stat.st_mtime  # type: ignore[assignment]
        response.set_etag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}")
        for key, value in self.config.headers_for(path):
            response.headers[key] = value
        return response.make_conditional(request)

    def _not_found(self, request: Request) -> Response:
        page = self._static_file("/404.html")
        if page is not None:
            response = self._file_response(request, page, "/404.html")
            response.status_code = 404
            return response
        return Response("Not Found", status=404, content_type="text/plain")

    # Functions ----------------------------------------------------------------------------

    def function_url(self, function: str, region: str, path: str, query: str) -> str:
        url = f"{self.functions_url}/{self.project}/{region}/{function}{quote(path)}"
        return f"{url}?{query}" if query else url

    def _proxy(self, request: Request, function: str, region: str) -> Response:
        url = self.function_url(
            function, region, request.path, request.query_string.decode("latin-1")
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        forwarded_for = request.headers.get("X-Forwarded-For")
        client = request.remote_addr or ""
        headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
        headers["X-Forwarded-Host"] = request.host
        headers["X-Forwarded-Proto"] = request.scheme
        try:
            upstream = self._session.request(
                request.method,
                url,
                headers=headers,
                data=request.get_data(cache=False),
                stream=True,
                allow_redirects=False,
                timeout=PROXY_TIMEOUT_S,
            )
        except requests.RequestException as error:
            self._log.write("ERROR", f"function {function} unreachable: {error}")
            return Response(
                json.dumps(
                    {
                        "success": False,
                        "error": {
                            "code": "unavailable",
                            "message": f"The function {function} is not reachable",
                            "details": {},
                        },
                    }
                ),
                status=502,
                content_type="application/json",
            )
        # The body passes through as received (still encoded, same length), streamed.
        out_headers = [
            (k, v) for k, v in upstream.raw.headers.items() if k.lower() not in _HOP_BY_HOP
        ]
        return Response(
            _stream(upstream),
            status=upstream.status_code,
            headers=out_headers,
            direct_passthrough=True,
        )


def _stream(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.raw.stream(_STREAM_CHUNK, decode_content=False)
    finally:
        upstream.close()


class HostingServer:
    """The app on a threaded werkzeug server in a background thread (port 0 = any free port)."""

    def __init__(self, app: HostingApp, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hosting", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HostingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def emulator_init_json(
    project: str, auth_host: str | None, firestore_host: str | None, api_key: str = "fake-api-key"
) -> dict[str, Any]:
    """What `/__/firebase/init.json` answers locally: a demo project's config (the Auth
    emulator accepts any API key) and where the emulators are. A deployed site's init.json
    has no `emulators` key, so a production build never connects to an emulator."""
    emulators: dict[str, str] = {}
    if auth_host:
        emulators["auth"] = f"http://{auth_host}"
    if firestore_host:
        emulators["firestore"] = firestore_host
    return {
        "projectId": project,
        "apiKey": api_key,
        "authDomain": f"{project}.firebaseapp.com",
        "storageBucket": f"{project}.appspot.com",
        "appId": f"1:000000000000:web:{project}",
        "emulators": emulators,
    }
