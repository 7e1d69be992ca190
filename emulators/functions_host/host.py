"""FunctionsHost: discovers the functions of a source directory, serves them all from one
threaded HTTP server and wires their triggers to the local emulators.

Serving imports the user's main.py into this process and points the Google/Firebase clients at
the emulators through the standard environment variables, so a host owns its process: run it
with `python -m emulators.functions_host` (the stack does), not inside a test process.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulators.functions_host.app import FunctionsApp, function_path
from emulators.functions_host.discovery import discover, firebase_env
from emulators.functions_host.loader import load_functions
from emulators.functions_host.logs import log
from emulators.functions_host.manifest import Manifest, TriggerKind
from emulators.functions_host.user_env import load_user_env
from emulators.functions_host.wiring import (
    Schedules,
    firestore_triggers,
    push_subscriptions,
    register_firestore_triggers,
    register_push_subscriptions,
    unwired_events,
)


@dataclasses.dataclass(frozen=True)
class EmulatorHosts:
    """Where the emulators listen (`host:port`); None leaves the inherited environment alone."""

    firestore: str | None = None
    pubsub: str | None = None
    storage: str | None = None
    auth: str | None = None

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.firestore:
            env["FIRESTORE_EMULATOR_HOST"] = self.firestore
        if self.pubsub:
            env["PUBSUB_EMULATOR_HOST"] = self.pubsub
        if self.storage:
            # google-cloud-storage wants a URL, firebase-admin a bare host:port (as the
            # Firebase emulator suite sets them).
            env["STORAGE_EMULATOR_HOST"] = f"http://{self.storage}"
            env["FIREBASE_STORAGE_EMULATOR_HOST"] = self.storage
        if self.auth:
            env["FIREBASE_AUTH_EMULATOR_HOST"] = self.auth
        return env


def function_environment(project: str, hosts: EmulatorHosts) -> dict[str, str]:
    """What a function sees locally: the deploy-time Firebase env, the emulator hosts and the
    marker the Firebase Functions emulator sets."""
    return {
        **firebase_env(project),
        "GOOGLE_CLOUD_PROJECT": project,
        "FUNCTIONS_EMULATOR": "true",
        **hosts.environment(),
    }


class FunctionsHost:
    def __init__(
        self,
        source_dir: Path,
        project: str,
        region: str = "us-central1",
        host: str = "127.0.0.1",
        port: int = 0,
        emulators: EmulatorHosts | None = None,
        firestore_admin_url: str | None = None,
        pubsub_admin_url: str | None = None,
        run_schedules: bool = True,
        python: str = sys.executable,
    ) -> None:
        self.source_dir = source_dir.resolve()
        self.project = project
        self.region = region
        self._host = host
        self._port = port
        self._emulators = emulators or EmulatorHosts()
        self._firestore_admin_url = firestore_admin_url
        self._pubsub_admin_url = pubsub_admin_url
        self._run_schedules = run_schedules
        self._python = python
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._schedules: Schedules | None = None
        self.manifest: Manifest | None = None

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("host not started")
        return f"{self._host}:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def url(self, name: str) -> str:
        """The function's URL, in the region it declares (the host's default otherwise)."""
        endpoint = self.manifest.endpoint(name) if self.manifest else None
        region = endpoint.regions[0] if endpoint and endpoint.regions else self.region
        return self.base_url + function_path(self.project, region, name)

    def start(self) -> None:
        # The platform's variables win over the user's files: a .env cannot point a function
        # at production while it runs locally.
        env = {
            **load_user_env(self.source_dir, self.project),
            **function_environment(self.project, self._emulators),
        }
        os.environ.update(env)
        manifest = discover(self.source_dir, self.project, self._python, extra_env=env)
        functions = load_functions(self.source_dir)
        missing = [e.entry_point for e in manifest.endpoints if e.entry_point not in functions]
        if missing:
            raise RuntimeError(f"manifest entry points not found in main.py: {missing}")
        self.manifest = manifest
        app = FunctionsApp(self.project, self.region, manifest, functions)
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="functions-host", daemon=True
        )
        self._thread.start()
        try:
            self._wire(manifest, app)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self._schedules is not None:
            self._schedules.stop()
            self._schedules = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def _wire(self, manifest: Manifest, app: FunctionsApp) -> None:
        if any(e.kind is TriggerKind.SCHEDULE for e in manifest.endpoints):
            self._schedules = Schedules(manifest, self.region, self.url)
            app.set_schedules(self._schedules)
            if self._run_schedules:
                self._schedules.start()
        triggers = firestore_triggers(manifest, self.url)
        if triggers:
            if self._firestore_admin_url:
                register_firestore_triggers(self._firestore_admin_url, self.project, triggers)
            else:
                log(
                    "WARNING",
                    "no Firestore emulator admin URL: Firestore triggers not wired",
                    functions=[t["name"] for t in triggers],
                )
        subscriptions = push_subscriptions(manifest, self.region, self.url)
        if subscriptions:
            if self._pubsub_admin_url:
                register_push_subscriptions(self._pubsub_admin_url, self.project, subscriptions)
            else:
                log(
                    "WARNING",
                    "no Pub/Sub emulator admin URL: Pub/Sub triggers not wired",
                    functions=[s["name"] for s in subscriptions],
                )
        for endpoint in unwired_events(manifest):
            log(
                "WARNING",
                "no local emulator delivers this event type; function not wired",
                function=endpoint.name,
            )
        log("INFO", "functions discovered", functions=app.describe()["functions"])


class _QuietRequestHandler(WSGIRequestHandler):
    # The app logs each request itself as a JSON line; werkzeug's text access log would only
    # interleave non-JSON lines.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None
