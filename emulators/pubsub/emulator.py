"""The Pub/Sub emulator: gRPC API, push delivery and the admin HTTP API, started together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent import futures
from typing import Any

import grpc

from emulators.json_log import JsonLog
from emulators.pubsub.admin import AdminServer
from emulators.pubsub.broker import Broker
from emulators.pubsub.delivery import PushDispatcher, RetryPolicy
from emulators.pubsub.grpc_service import PublisherService, SubscriberService
from emulators.pubsub.push_subscriptions import PushSubscription

# Each StreamingPull holds a server thread for its lifetime, so leave room beyond unary calls.
GRPC_THREADS = 32


class PubSubEmulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_port: int = 0,
        duplicate_delivery: bool = False,
        max_attempts: int = 5,
        min_backoff: float = 0.2,
        max_backoff: float = 5.0,
        request_timeout: float = 60.0,
        # Deployed push subscriptions are not limited to a few requests in flight (the functions
        # scale out); a long-running worker (an agent run holds its push for minutes) must not
        # starve the others, so the local default leaves room for many at once.
        push_workers: int = 16,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._requested_admin_port = admin_port
        self._dispatcher = PushDispatcher(
            RetryPolicy(
                max_attempts=max_attempts,
                min_backoff=min_backoff,
                max_backoff=max_backoff,
                request_timeout=request_timeout,
            ),
            workers=push_workers,
            duplicate_delivery=duplicate_delivery,
            log=JsonLog("pubsub-emulator"),
        )
        self._broker = Broker(push_sink=self._dispatcher.submit)
        self._server: grpc.Server | None = None
        self._subscriber: SubscriberService | None = None
        self._admin: AdminServer | None = None
        self._port = 0

    # Lifecycle

    def start(self) -> PubSubEmulator:
        admin = AdminServer(self, self._host, self._requested_admin_port)  # binds now
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=GRPC_THREADS))
        self._subscriber = SubscriberService(self._broker)
        server.add_generic_rpc_handlers(
            (PublisherService(self._broker).handler(), self._subscriber.handler())
        )
        address = f"{self._host}:{self._requested_port}"
        try:
            # Depending on the grpc version a port in use raises or returns 0.
            self._port = server.add_insecure_port(address)
        except RuntimeError:
            self._port = 0
        if self._port == 0:
            admin.close()
            raise OSError(f"cannot bind the Pub/Sub emulator to {address}")
        self._dispatcher.start()
        server.start()
        admin.start()
        self._server, self._admin = server, admin
        return self

    def stop(self, grace: float = 1.0) -> None:
        if self._admin is not None:
            self._admin.stop()
            self._admin = None
        if self._server is not None:
            if self._subscriber is not None:
                self._subscriber.close_streams()
            self._server.stop(grace).wait()
            self._server = None
        self._dispatcher.stop()

    def __enter__(self) -> PubSubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Addresses

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        """What PUBSUB_EMULATOR_HOST must hold."""
        return f"{self._host}:{self._port}"

    @property
    def admin_port(self) -> int:
        return self._admin.port if self._admin is not None else 0

    @property
    def admin_url(self) -> str:
        return f"http://{self._host}:{self.admin_port}"

    # Push delivery control

    def set_push_subscriptions(
        self, project: str, subscriptions: Iterable[Mapping[str, Any]]
    ) -> None:
        """Replaces `project`'s push subscriptions: `{"name", "topic", "url", "retry"}` each."""
        parsed = [PushSubscription.from_dict(project, spec) for spec in subscriptions]
        self._broker.set_push_subscriptions(project, parsed)

    def push_subscriptions(self, project: str) -> list[dict[str, Any]]:
        return [push.to_dict() for push in self._broker.push_subscriptions(project)]

    def set_duplicate_delivery(self, enabled: bool) -> None:
        self._dispatcher.duplicate_delivery = enabled

    @property
    def duplicate_delivery(self) -> bool:
        return self._dispatcher.duplicate_delivery

    def set_push_faults(self, failure_rate: float, timeout_rate: float, seed: int = 0) -> None:
        """Inject 503s / lost answers into that share of push attempts (0, 0 turns it off)."""
        self._dispatcher.faults.configure(failure_rate, timeout_rate, seed)

    def push_faults(self) -> dict[str, Any]:
        return self._dispatcher.faults.to_json()

    def dead_letters(self, project: str) -> list[dict[str, Any]]:
        return self._dispatcher.dead_letters(project)

    def deliveries(self, project: str) -> list[dict[str, Any]]:
        """Every push attempt: subscription, messageId, copy, attempt, status, ok, error."""
        return self._dispatcher.attempts(project)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no push delivery is queued, waiting for backoff, or in flight."""
        return self._dispatcher.wait_idle(timeout)

    def clear(self, project: str | None = None) -> None:
        """Forgets topics, subscriptions, queued deliveries and records (of one project)."""
        self._broker.clear(project)
        self._dispatcher.clear(project)
