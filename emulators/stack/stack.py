"""LocalStack: the whole platform on this machine — Firestore, Auth, Pub/Sub and Storage
emulators, the seed a fresh platform needs, the functions host wired to them, and Hosting (the
web app's build with firebase.json's rewrites to the functions host).

Each emulator is a child process in its own process group, started in dependency order and
awaited (ready line and/or open port) with a timeout; stopping ends every group it started.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from emulators.functions_host.app import function_path
from emulators.functions_host.host import EmulatorHosts
from emulators.stack.clients import firestore_client
from emulators.stack.ports import LOCALHOST, free_ports, is_free
from emulators.stack.processes import LineSink, ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROJECT = "demo-aide"
DEFAULT_REGION = "us-central1"
OFFICIAL_EMULATORS_ENV = "AIDE_USE_OFFICIAL_EMULATORS"
# Generous: on a loaded 2-core CI machine node (Auth) and the function imports are slow.
READY_TIMEOUT_S = {"firestore": 60.0, "pubsub": 60.0, "storage": 60.0, "auth": 120.0}
FUNCTIONS_READY_TIMEOUT_S = 180.0
HOSTING_READY_TIMEOUT_S = 60.0
FIRESTORE_EXPORT_TIMEOUT_S = 120.0


class StackError(RuntimeError):
    """The stack could not start (a child failed, or the seed did)."""


@dataclasses.dataclass(frozen=True)
class StackPorts:
    firestore: int
    firestore_admin: int
    auth: int
    pubsub: int
    pubsub_admin: int
    storage: int
    functions: int
    hosting: int

    @classmethod
    def standard(cls) -> StackPorts:
        """`make dev`: the ports of firebase.json; admin APIs right after their emulator;
        Hosting on the Hosting emulator's standard port."""
        return cls(
            firestore=8080,
            firestore_admin=8081,
            auth=9099,
            pubsub=8085,
            pubsub_admin=8086,
            storage=9199,
            functions=5001,
            hosting=5000,
        )

    @classmethod
    def free(cls) -> StackPorts:
        return cls(*free_ports(len(dataclasses.fields(cls))))


def official_emulator_hosts(env: Mapping[str, str]) -> EmulatorHosts:
    """The emulators `firebase emulators:exec` announces through the environment."""
    storage = env.get("FIREBASE_STORAGE_EMULATOR_HOST") or env.get("STORAGE_EMULATOR_HOST")
    return EmulatorHosts(
        firestore=env.get("FIRESTORE_EMULATOR_HOST") or None,
        pubsub=env.get("PUBSUB_EMULATOR_HOST") or None,
        storage=storage.removeprefix("http://").removeprefix("https://") if storage else None,
        auth=env.get("FIREBASE_AUTH_EMULATOR_HOST") or None,
    )


class LocalStack:
    def __init__(
        self,
        ports: StackPorts | None = None,
        project: str = DEFAULT_PROJECT,
        region: str = DEFAULT_REGION,
        source_dir: Path = REPO_ROOT / "functions",
        indexes: Path | None = REPO_ROOT / "firestore.indexes.json",
        rules: Path | None = REPO_ROOT / "firestore.rules",
        external: EmulatorHosts | None = None,
        seed: bool = True,
        run_schedules: bool = True,
        echo: LineSink | None = None,
        firebase_json: Path = REPO_ROOT / "firebase.json",
        persist_firestore: bool = False,
        pubsub_max_attempts: int | None = None,
    ) -> None:
        """`ports` None picks free ports (tests, a second stack next to `make dev`).
        `external` names emulators already running (official ones, or a Firestore given by
        FIRESTORE_EMULATOR_HOST): those are used, not started. `echo` receives every child
        output line as (child name, line). Hosting serves `firebase_json`'s hosting site.
        `persist_firestore`: our Firestore exports its data
        when stopped, so `restart_firestore()` brings it back. `pubsub_max_attempts`: push
        attempts before a message is dead-lettered (the emulator's default is 5, i.e. a few
        seconds; Pub/Sub itself retries for days)."""
        self.ports = ports or StackPorts.free()
        self.project = project
        self.region = region
        self.source_dir = source_dir.resolve()
        self._indexes = indexes
        self._rules = rules
        self._external = external or EmulatorHosts()
        self._seed = seed
        self._run_schedules = run_schedules
        self._echo = echo
        self._firebase_json = firebase_json
        self._persist_firestore = persist_firestore
        self._pubsub_max_attempts = pubsub_max_attempts
        self._children: list[ManagedProcess] = []
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()

    # Where things are -------------------------------------------------------------------

    @property
    def firestore_host(self) -> str:
        return self._external.firestore or f"{LOCALHOST}:{self.ports.firestore}"

    @property
    def firestore_admin_url(self) -> str | None:
        """Our Firestore emulator's admin API; None when an external Firestore is used."""
        if self._external.firestore:
            return None
        return f"http://{LOCALHOST}:{self.ports.firestore_admin}"

    @property
    def pubsub_host(self) -> str:
        return self._external.pubsub or f"{LOCALHOST}:{self.ports.pubsub}"

    @property
    def pubsub_admin_url(self) -> str | None:
        if self._external.pubsub:
            return None
        return f"http://{LOCALHOST}:{self.ports.pubsub_admin}"

    @property
    def auth_host(self) -> str:
        return self._external.auth or f"{LOCALHOST}:{self.ports.auth}"

    @property
    def storage_host(self) -> str:
        return self._external.storage or f"{LOCALHOST}:{self.ports.storage}"

    @property
    def storage_bucket(self) -> str:
        return f"{self.project}.appspot.com"

    @property
    def functions_base_url(self) -> str:
        return f"http://{LOCALHOST}:{self.ports.functions}"

    @property
    def hosting_url(self) -> str:
        """The web app and, under /api/<resource>, the HTTP functions (firebase.json)."""
        return f"http://{LOCALHOST}:{self.ports.hosting}"

    def url(self, name: str, path: str = "") -> str:
        """URL of function `name` (plus an optional sub-path such as "/abc")."""
        return self.functions_base_url + function_path(self.project, self.region, name) + path

    def emulator_hosts(self) -> EmulatorHosts:
        return EmulatorHosts(
            firestore=self.firestore_host,
            pubsub=self.pubsub_host,
            storage=self.storage_host,
            auth=self.auth_host,
        )

    def environment(self) -> dict[str, str]:
        """Env vars pointing standard clients at this stack (for a shell or a child)."""
        return {
            **self.emulator_hosts().environment(),
            "GCLOUD_PROJECT": self.project,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }

    def endpoints(self) -> list[tuple[str, str]]:
        admin_fs = f" (admin {self.firestore_admin_url})" if self.firestore_admin_url else ""
        admin_ps = f" (admin {self.pubsub_admin_url})" if self.pubsub_admin_url else ""
        return [
            ("Firestore", self.firestore_host + admin_fs),
            ("Auth", self.auth_host),
            ("Pub/Sub", self.pubsub_host + admin_ps),
            ("Storage", f"http://{self.storage_host} (bucket {self.storage_bucket})"),
            ("Functions", self.url("<function>")),
            ("Hosting", f"{self.hosting_url} (web dashboard; /api/<resource> → functions)"),
        ]

    @property
    def children(self) -> list[ManagedProcess]:
        return list(self._children)

    # Lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalStack:
        busy = [port for port in self._ports_to_bind() if not is_free(port)]
        if busy:
            raise StackError(
                f"port(s) {', '.join(map(str, busy))} already in use (another `make dev` running?)"
            )
        self._workdir = tempfile.TemporaryDirectory(prefix="aide-stack-")
        try:
            self._start_emulators()
            if self._seed:
                self.seed()
            self._start_functions()
            self._start_hosting()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        with self._lock:
            children, self._children = self._children, []
        # Hosting and the functions host go first so nothing they run sees an emulator vanish;
        # the emulators then shut down together.
        front = ("hosting", "functions")
        for name in front:
            for child in children:
                if child.name == name:
                    child.stop()
        emulators = [c for c in children if c.name not in front]
        for child in emulators:
            child.terminate()
        for child in emulators:
            child.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dead_child(self) -> ManagedProcess | None:
        return next((c for c in self._children if not c.running), None)

    def wait(self, stop: threading.Event, poll_s: float = 0.2) -> ManagedProcess | None:
        """Blocks until `stop` is set (→ None) or a child dies (→ that child)."""
        while not stop.wait(poll_s):
            dead = self.dead_child()
            if dead is not None:
                return dead
        return None

    def seed(self) -> None:
        """Applies what a fresh platform needs (built-in agents, plans); idempotent."""
        if str(self.source_dir) not in sys.path:
            sys.path.insert(0, str(self.source_dir))
        try:
            from aide.services.platform_seed import seed_platform
        except ImportError as error:
            raise StackError(f"cannot seed the platform: {error}") from error
        client = firestore_client(self.firestore_host, self.project)
        try:
            seed_platform(client)
        finally:
            client.close()

    # Faults -----------------------------------------------------------------------------

    def kill_functions(self) -> None:
        """SIGKILL the functions host (every run in flight dies between two of its writes)."""
        child = self._named("functions")
        child.kill()
        with self._lock:
            self._children.remove(child)

    def restart_functions(self) -> float:
        """Kill the functions host if it runs, start it again (discovery and wiring included);
        returns the seconds until it was ready."""
        started = time.monotonic()
        if any(c.name == "functions" for c in self._children):
            self.kill_functions()
        self._start_functions()
        return time.monotonic() - started

    def restart_firestore(self) -> float:
        """Stop our Firestore (it exports its documents), start it again from that export and
        re-register the triggers it held; returns the seconds it was away."""
        if not self._persist_firestore or self.firestore_admin_url is None:
            raise StackError("restart_firestore needs persist_firestore=True and our Firestore")
        admin = f"{self.firestore_admin_url}/emulator/v1/projects/{self.project}/triggers"
        with urllib.request.urlopen(admin, timeout=30) as answer:
            triggers = json.load(answer)
        started = time.monotonic()
        child = self._named("firestore")
        assert self._workdir is not None
        export = Path(self._workdir.name) / "firestore-export" / "firestore-documents.jsonl"
        marker = export.stat().st_mtime_ns if export.exists() else None
        # Its shutdown waits for in-flight requests and trigger deliveries before it exports:
        # on a loaded machine that takes longer than the default SIGKILL deadline.
        child.stop(timeout_s=FIRESTORE_EXPORT_TIMEOUT_S)
        with self._lock:
            self._children.remove(child)
        if not export.exists() or export.stat().st_mtime_ns == marker:
            raise StackError("Firestore stopped without exporting its documents")
        self._firestore_child(import_dir=True).wait_ready(READY_TIMEOUT_S["firestore"])
        request = urllib.request.Request(
            admin,
            data=json.dumps(triggers).encode(),
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
        return time.monotonic() - started

    def _named(self, name: str) -> ManagedProcess:
        for child in self._children:
            if child.name == name:
                return child
        raise StackError(f"no {name} child running")

    # Children ---------------------------------------------------------------------------

    def _ports_to_bind(self) -> list[int]:
        ports = [self.ports.functions, self.ports.hosting]
        if not self._external.firestore:
            ports += [self.ports.firestore, self.ports.firestore_admin]
        if not self._external.auth:
            ports.append(self.ports.auth)
        if not self._external.pubsub:
            ports += [self.ports.pubsub, self.ports.pubsub_admin]
        if not self._external.storage:
            ports.append(self.ports.storage)
        return ports

    def _start_emulators(self) -> None:
        python = sys.executable
        pending: list[ManagedProcess] = []
        if not self._external.firestore:
            pending.append(self._firestore_child(import_dir=False))
        if not self._external.auth:
            pending.append(self._auth_child())
        if not self._external.pubsub:
            argv = [python, "-m", "emulators.pubsub", "--host", LOCALHOST]
            argv += ["--port", str(self.ports.pubsub)]
            argv += ["--admin-port", str(self.ports.pubsub_admin)]
            if self._pubsub_max_attempts is not None:
                argv += ["--max-attempts", str(self._pubsub_max_attempts)]
            pending.append(self._child("pubsub", argv, r"Pub/Sub emulator ready on"))
        if not self._external.storage:
            argv = [python, "-m", "gcp_storage_emulator", "start", "--host", LOCALHOST]
            argv += ["--port", str(self.ports.storage), "--in-memory"]
            argv += ["--default-bucket", self.storage_bucket]
            pending.append(self._child("storage", argv, None, port=self.ports.storage))
        # Started together, awaited one by one: the emulators do not depend on each other and
        # the slowest (node) then bounds the start-up instead of the sum of all.
        for child in pending:
            child.wait_ready(READY_TIMEOUT_S[child.name])

    def _firestore_child(self, import_dir: bool) -> ManagedProcess:
        argv = [sys.executable, "-m", "emulators.firestore", "--host", LOCALHOST]
        argv += ["--port", str(self.ports.firestore)]
        argv += ["--admin-port", str(self.ports.firestore_admin)]
        if self._indexes is not None:
            argv += ["--indexes", str(self._indexes)]
        if self._rules is not None:
            argv += ["--rules", str(self._rules)]
        if self._persist_firestore:
            assert self._workdir is not None
            export = Path(self._workdir.name) / "firestore-export"
            if import_dir:
                argv += ["--import", str(export)]
            argv += ["--export-on-exit", str(export)]
        return self._child("firestore", argv, r"Firestore emulator ready on")

    def _auth_child(self) -> ManagedProcess:
        assert self._workdir is not None
        workdir = Path(self._workdir.name) / "auth"
        workdir.mkdir()
        hub, logging_port = free_ports(2)
        config = {
            "emulators": {
                "singleProjectMode": True,
                "auth": {"host": LOCALHOST, "port": self.ports.auth},
                # Free hub/logging ports so this stack never clashes with a running
                # `firebase emulators:start` (4400/4500) or another stack.
                "hub": {"host": LOCALHOST, "port": hub},
                "logging": {"host": LOCALHOST, "port": logging_port},
                "ui": {"enabled": False},
            }
        }
        (workdir / "firebase.json").write_text(json.dumps(config, indent=2))
        firebase = REPO_ROOT / "node_modules" / ".bin" / "firebase"
        argv = [str(firebase), "emulators:start", "--only", "auth", "--project", self.project]
        return self._child("auth", argv, r"All emulators ready", port=self.ports.auth, cwd=workdir)

    def _start_functions(self) -> None:
        argv = [sys.executable, "-m", "emulators.functions_host"]
        argv += ["--source", str(self.source_dir), "--project", self.project]
        argv += ["--region", self.region, "--host", LOCALHOST]
        argv += ["--port", str(self.ports.functions)]
        argv += ["--firestore", self.firestore_host, "--pubsub", self.pubsub_host]
        argv += ["--storage", self.storage_host, "--auth", self.auth_host]
        if self.firestore_admin_url:
            argv += ["--firestore-admin", self.firestore_admin_url]
        if self.pubsub_admin_url:
            argv += ["--pubsub-admin", self.pubsub_admin_url]
        if not self._run_schedules:
            argv.append("--no-schedules")
        child = self._child("functions", argv, r"Functions host ready on")
        child.wait_ready(FUNCTIONS_READY_TIMEOUT_S)

    def _start_hosting(self) -> None:
        argv = [sys.executable, "-m", "emulators.hosting", "--host", LOCALHOST]
        argv += ["--port", str(self.ports.hosting), "--config", str(self._firebase_json)]
        argv += ["--functions", self.functions_base_url, "--project", self.project]
        argv += ["--auth", self.auth_host, "--firestore", self.firestore_host]
        child = self._child("hosting", argv, r"Hosting emulator ready on")
        child.wait_ready(HOSTING_READY_TIMEOUT_S)

    def _child(
        self,
        name: str,
        argv: list[str],
        ready_pattern: str | None,
        port: int | None = None,
        cwd: Path = REPO_ROOT,
    ) -> ManagedProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        env["GCLOUD_PROJECT"] = self.project
        child = ManagedProcess(name, argv, cwd, env, ready_pattern, port, self._echo)
        with self._lock:
            self._children.append(child)
        try:
            child.start()
        except OSError as error:
            raise StackError(f"cannot start {name}: {error}") from error
        return child
