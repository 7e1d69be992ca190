"""Publishing JSON messages to Pub/Sub with a lazily created PublisherClient.

The client honours PUBSUB_EMULATOR_HOST by itself (insecure channel, no credentials).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from aide import config

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

PUBLISH_TIMEOUT_SECONDS = 30.0


def topic_path(topic: str, project: str | None = None) -> str:
    return f"projects/{project or config.project_id()}/topics/{topic}"


class MessagePublisher(Protocol):
    """What services publish through: PubSubPublisher, or a recording stand-in in tests."""

    def publish(
        self,
        topic: str,
        data: Mapping[str, Any],
        *,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str = "",
        timeout: float = ...,
    ) -> str: ...


class PubSubPublisher:
    """Publishes dicts as UTF-8 JSON; returns the server-assigned message id."""

    def __init__(self, client: PublisherClient | None = None, project: str | None = None) -> None:
        self._client = client
        self._project = project
        self._lock = threading.Lock()

    @property
    def client(self) -> PublisherClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import pubsub_v1

                    self._client = pubsub_v1.PublisherClient()
        return self._client

    @property
    def project(self) -> str:
        return self._project or config.project_id()

    def publish(
        self,
        topic: str,
        data: Mapping[str, Any],
        *,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str = "",
        timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> str:
        from google.api_core.exceptions import NotFound

        payload = json.dumps(data, separators=(",", ":")).encode()
        path = topic_path(topic, self.project)
        try:
            return self._publish(path, payload, attributes, ordering_key, timeout)
        except NotFound:
            # Deploy creates the topics of subscribed functions; a fresh local stack may not have
            # them yet, so create once and retry instead of losing the message.
            self.ensure_topic(topic)
            return self._publish(path, payload, attributes, ordering_key, timeout)

    def _publish(
        self,
        path: str,
        payload: bytes,
        attributes: Mapping[str, str] | None,
        ordering_key: str,
        timeout: float,
    ) -> str:
        kwargs: dict[str, Any] = dict(attributes or {})
        if ordering_key:
            kwargs["ordering_key"] = ordering_key
        future = self.client.publish(path, payload, **kwargs)
        return str(future.result(timeout=timeout))

    def ensure_topic(self, topic: str) -> None:
        from google.api_core.exceptions import AlreadyExists

        try:
            self.client.create_topic(request={"name": topic_path(topic, self.project)})
        except AlreadyExists:
            pass


_lock = threading.Lock()
_publisher: PubSubPublisher | None = None


def get_publisher() -> PubSubPublisher:
    global _publisher
    if _publisher is None:
        with _lock:
            if _publisher is None:
                _publisher = PubSubPublisher()
    return _publisher
