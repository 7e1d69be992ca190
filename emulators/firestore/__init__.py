"""An offline Firestore emulator: ``google.firestore.v1.Firestore`` over gRPC and, on the same
port, over HTTP/1.1 for browsers (WebChannel + REST), plus an admin HTTP API.

    emulator = FirestoreEmulator().start()      # free ports on 127.0.0.1
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    ...
    emulator.stop()

See README.md in this directory for the admin endpoints and what differs from production.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from emulators.firestore.webchannel import ChannelTimings

__all__ = ["FirestoreEmulator"]

# Listen streams and transactional reads waiting for a lock each hold a server thread.
_MAX_WORKERS = 256


class FirestoreEmulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_port: int = 0,
        indexes_path: str | Path | None = None,
        import_dir: str | Path | None = None,
        export_on_exit: str | Path | None = None,
        rules_path: str | Path | None = None,
        channel_timings: ChannelTimings | None = None,
        grpc_socket: str | Path | None = None,
        grpc_port: int | None = None,
    ) -> None:
        from emulators.firestore.service import FirestoreService
        from emulators.firestore.webchannel import ChannelRegistry

        self.host = host
        self._requested_port = port
        self._requested_admin_port = admin_port
        self._export_dir = export_on_exit
        self._import_dir = import_dir
        self.service = FirestoreService()
        if indexes_path is not None:
            self.service.indexes.load_default(indexes_path)
        if rules_path is not None:
            self.service.rules.load_default(rules_path)
        self.channels = ChannelRegistry(self.service, channel_timings)
        self._server: grpc.Server | None = None
        self._front: Any = None
        self._socket_dir: str | None = None
        self.grpc_socket = str(grpc_socket) if grpc_socket is not None else ""
        self._requested_grpc_port = grpc_port
        self.grpc_port = 0  # grpcio's own TCP port, when asked for: gRPC without the multiplexer
        self._executor: futures.ThreadPoolExecutor | None = None
        self._admin: Any = None
        self._admin_thread: threading.Thread | None = None
        self.port = 0
        self.admin_port = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FirestoreEmulator:
        from emulators.firestore.admin import make_admin_server, serve_in_background
        from emulators.firestore.http_gateway import make_connection_handler
        from emulators.firestore.multiplex import Multiplexer
        from emulators.firestore.persistence import import_documents

        if self._import_dir is not None:
            import_documents(self.service.store, self._import_dir)
        self._executor = futures.ThreadPoolExecutor(
            max_workers=_MAX_WORKERS, thread_name_prefix="firestore"
        )
        server = grpc.server(
            self._executor,
            handlers=[self.service.generic_handler()],
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        # grpcio serves a Unix socket; the public port is the multiplexer's, which joins gRPC
        # connections to that socket and answers HTTP/1.1 itself (see multiplex.py).
        if not self.grpc_socket:
            self._socket_dir = tempfile.mkdtemp(prefix="firestore-emulator-")
            self.grpc_socket = f"{self._socket_dir}/grpc.sock"
        grpc_socket = self.grpc_socket
        if not server.add_insecure_port(f"unix:{grpc_socket}"):
            raise OSError(f"cannot bind the Firestore emulator's gRPC socket {grpc_socket}")
        if self._requested_grpc_port is not None:
            self.grpc_port = server.add_insecure_port(f"{self.host}:{self._requested_grpc_port}")
            if not self.grpc_port:
                raise OSError(f"cannot bind gRPC to {self.host}:{self._requested_grpc_port}")
        server.start()
        self._server = server
        try:
            self._front = Multiplexer(
                self.host,
                self._requested_port,
                grpc_socket,
                make_connection_handler(self.service, self.channels),
            )
        except OSError as exc:
            self.stop()
            raise OSError(
                f"cannot bind Firestore emulator to {self.host}:{self._requested_port}: {exc}"
            ) from exc
        self.port = self._front.port
        self._front.start()
        self._admin = make_admin_server(self, self.host, self._requested_admin_port)
        self.admin_port = int(self._admin.server_address[1])
        self._admin_thread = serve_in_background(self._admin)
        return self

    def stop(self, grace: float = 0.5) -> None:
        from emulators.firestore import transactions
        from emulators.firestore.persistence import export_documents

        if self._front is not None:
            self._front.stop()
            self._front = None
        self.channels.stop()
        if self._server is not None:
            self._server.stop(grace).wait(timeout=5)
            self._server = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        # Requests still waiting for a document lock must not outlive the server.
        for db in self.service.store.databases():
            with db.cond:
                for txn in list(db.transactions.values()):
                    transactions.wound(db, txn, "the emulator is shutting down")
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._admin is not None:
            self._admin.shutdown()
            self._admin.server_close()
            self._admin = None
        if self._admin_thread is not None:
            self._admin_thread.join(timeout=5)
            self._admin_thread = None
        self.service.triggers.flush(timeout=5)
        self.service.triggers.stop()
        if self._export_dir is not None:
            export_documents(self.service.store, self._export_dir)

    def __enter__(self) -> FirestoreEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    # ------------------------------------------------------------------ administration
    def clear(self, project: str | None = None, database: str = "(default)") -> None:
        """Delete every document of one database (or of every project when ``project`` is None)."""
        for db in self.service.store.databases(project):
            if project is not None and db.id.database != database:
                continue
            with db.cond:
                db.clear()

    def costs(self, project: str) -> dict[str, int]:
        return self.service.costs.get(project)

    def reset_costs(self, project: str | None = None) -> None:
        self.service.costs.reset(project)

    def set_triggers(self, project: str, triggers: list[dict[str, Any]]) -> None:
        self.service.triggers.set_triggers(project, triggers)

    def get_triggers(self, project: str) -> list[dict[str, str]]:
        return [t.to_json() for t in self.service.triggers.triggers(project)]

    def set_indexes(self, project: str, indexes: dict[str, Any] | None) -> None:
        """Enforce a firestore.indexes.json document for ``project``; ``None`` turns it off."""
        self.service.indexes.set_project(project, indexes)

    def set_rules(self, project: str, source: str | None) -> None:
        """Enforce security rules (firestore.rules text) for ``project``'s client requests;
        ``None`` falls back to the emulator-wide rules (``rules_path``), if any."""
        self.service.rules.set_project(project, source)

    def get_rules(self, project: str) -> str | None:
        return self.service.rules.source(project)

    def set_duplicate_delivery(self, enabled: bool) -> None:
        self.service.triggers.duplicate_delivery = enabled

    def set_trigger_loss(self, rate: float, seed: int = 0, only: Sequence[str] = ()) -> None:
        self.service.triggers.set_loss(rate, seed, only)

    def trigger_faults(self) -> dict[str, Any]:
        triggers = self.service.triggers
        return {
            "triggerLossRate": triggers.loss_rate,
            "triggerDeliveriesLost": triggers.lost(),
            "triggerDeliveriesFailed": triggers.failed(),
        }

    def flush_triggers(self, timeout: float = 30.0) -> bool:
        return self.service.triggers.flush(timeout)

    def export(self, directory: str | Path) -> int:
        from emulators.firestore.persistence import export_documents

        return export_documents(self.service.store, directory)
