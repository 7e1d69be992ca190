"""The WSGI application serving every discovered function in one process.

URLs follow the Firebase Functions emulator: `/{project}/{region}/{function}[/sub/path]`. The
function sees what Cloud Functions (functions-framework) gives it: `request.path` is the part
after the function name ("/" for the bare URL) and `request.script_root` holds the prefix.
HTTP and callable functions get the flask request (every method, OPTIONS included, so CORS is
the function's own business); event functions get the CloudEvent parsed from the request, binary
or structured mode, exactly as functions-framework's cloud-event handler does.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from flask import Flask, Response, request
from werkzeug.routing import Rule
from werkzeug.wrappers import Response as WerkzeugResponse

from emulators.functions_host.logs import log, trace_field
from emulators.functions_host.manifest import Endpoint, Manifest, TriggerKind

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
ENDPOINT_KEY = "functions_host.endpoint"
SCHEDULER_PREFIX = "/__/scheduler/"
RUN_SUFFIX = ":run"


class ScheduleRunner(Protocol):
    def run_now(
        self, function_name: str, schedule_time: dt.datetime | None = None
    ) -> int | None: ...


def function_path(project: str, region: str, name: str) -> str:
    return f"/{project}/{region}/{name}"


class FunctionsApp:
    def __init__(
        self,
        project: str,
        region: str,
        manifest: Manifest,
        functions: Mapping[str, Callable[..., Any]],
        schedules: ScheduleRunner | None = None,
    ) -> None:
        self.project = project
        self.region = region
        self.manifest = manifest
        self._functions = dict(functions)
        self._served = {e.name: e for e in manifest.endpoints if e.entry_point in functions}
        self._schedules = schedules
        self._flask = Flask("functions_host")
        # Rules added straight to the url_map (as functions-framework does) take every method and
        # skip Flask's automatic OPTIONS answer, so preflights reach the function.
        self._flask.url_map.add(Rule("/", defaults={"path": ""}, endpoint="run"))
        self._flask.url_map.add(Rule("/<path:path>", endpoint="run"))
        self._flask.view_functions["run"] = self._run

    def set_schedules(self, schedules: ScheduleRunner | None) -> None:
        self._schedules = schedules

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        method = str(environ.get("REQUEST_METHOD") or "GET")
        if path == "/__/functions" and method == "GET":
            return _json(self.describe())(environ, start_response)
        if path.startswith(SCHEDULER_PREFIX) and path.endswith(RUN_SUFFIX) and method == "POST":
            query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING") or ""))
            return self._run_schedule(
                path[len(SCHEDULER_PREFIX) : -len(RUN_SUFFIX)], query.get("scheduleTime", [""])[0]
            )(environ, start_response)
        endpoint, prefix = self._route(path)
        if endpoint is None:
            return _json({"error": f"no function at {path}"}, status=404)(environ, start_response)
        environ[ENDPOINT_KEY] = endpoint
        environ["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME") or "") + prefix
        environ["PATH_INFO"] = path[len(prefix) :] or "/"
        return self._flask.wsgi_app(environ, start_response)

    def describe(self) -> dict[str, Any]:
        functions = []
        for endpoint in self.manifest.endpoints:
            entry: dict[str, Any] = {
                "name": endpoint.name,
                "entryPoint": endpoint.entry_point,
                "trigger": endpoint.kind.value,
                "path": function_path(self.project, self.region, endpoint.name),
            }
            if endpoint.event_trigger:
                entry["eventType"] = endpoint.event_trigger.event_type
                entry["eventFilters"] = dict(endpoint.event_trigger.filters)
                entry["eventFilterPathPatterns"] = dict(endpoint.event_trigger.path_patterns)
                entry["retry"] = endpoint.event_trigger.retry
            if endpoint.schedule_trigger:
                entry["schedule"] = endpoint.schedule_trigger.schedule
                entry["timeZone"] = endpoint.schedule_trigger.time_zone
            functions.append(entry)
        return {"project": self.project, "region": self.region, "functions": functions}

    def _route(self, path: str) -> tuple[Endpoint | None, str]:
        parts = path.lstrip("/").split("/", 3)
        if len(parts) < 3 or parts[0] != self.project:
            return None, ""
        region, name = parts[1], parts[2]
        endpoint = self._served.get(name)
        if endpoint is None:
            return None, ""
        if region not in (endpoint.regions or (self.region,)):
            return None, ""
        return endpoint, function_path(self.project, region, name)

    def _run(self, path: str) -> WerkzeugResponse:
        endpoint: Endpoint = request.environ[ENDPOINT_KEY]
        function = self._functions[endpoint.entry_point]
        trace = trace_field(self.project, request.headers.get("X-Cloud-Trace-Context"))
        started = time.monotonic()
        try:
            if endpoint.kind is TriggerKind.EVENT:
                response = self._deliver_event(function)
            else:
                # The function gets the real request object, not the context-local proxy.
                current = request._get_current_object()  # type: ignore[attr-defined]
                response = self._flask.make_response(function(current))
        except Exception as error:
            log(
                "ERROR",
                f"function {endpoint.name} raised {type(error).__name__}: {error}",
                function=endpoint.name,
                traceback=traceback.format_exc(),
                **{"logging.googleapis.com/trace": trace},
            )
            # What functions-framework answers when the function crashes.
            response = Response("Internal Server Error", status=500)
            response.headers["X-Google-Status"] = "crash"
        log(
            "INFO" if response.status_code < 500 else "ERROR",
            f"{request.method} {request.script_root}{request.path} {response.status_code}",
            function=endpoint.name,
            latencyMs=round((time.monotonic() - started) * 1000, 1),
            **{"logging.googleapis.com/trace": trace},
        )
        return response

    def _deliver_event(self, function: Callable[..., Any]) -> WerkzeugResponse:
        # Imported here: only event deliveries need the CloudEvents SDK.
        from cloudevents.exceptions import GenericException
        from cloudevents.http import from_http

        try:
            event = from_http(dict(request.headers), request.get_data())
        except GenericException as error:
            # functions-framework answers a request that is no CloudEvent with 400.
            return Response(f"Bad Request: not a CloudEvent: {error}", status=400)
        function(event)
        return Response("OK", status=200)

    def _run_schedule(
        self, name: str, schedule_time: str = ""
    ) -> Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]:
        if self._schedules is None:
            return _json({"error": "scheduling is not enabled in this host"}, status=404)
        try:
            moment = (
                dt.datetime.fromisoformat(schedule_time.replace("Z", "+00:00"))
                if schedule_time
                else None
            )
        except ValueError:
            return _json({"error": f"scheduleTime {schedule_time!r} is not RFC 3339"}, status=400)
        if moment is not None and moment.tzinfo is None:
            return _json({"error": "scheduleTime needs a UTC offset"}, status=400)
        try:
            status = self._schedules.run_now(name, moment)
        except ConnectionError as error:
            return _json({"ran": name, "error": str(error)}, status=502)
        if status is None:
            return _json({"error": f"no scheduled function {name}"}, status=404)
        # A failed run answers 502 so `curl -f` and callers see it; the body says why.
        return _json({"ran": name, "status": status}, status=200 if status < 400 else 502)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
