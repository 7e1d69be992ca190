"""Firestore listeners shared by the event streams of one instance.

A listener (`on_snapshot` over gRPC: the client keeps a background thread and a stream per
listener) is opened per distinct target — one document, or one query — however many streams
follow it: each stream gets a queue, and the last one to leave closes the listener. A stream
that joins a listener already open first receives the documents as they are now (as ADDED), as
a fresh listener's first snapshot would give them.

Threads per instance: one listener thread per distinct target plus one thread per open stream
(the request's own). See the README's "Event streams" limits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
REMOVED: Final = "REMOVED"


@dataclass(frozen=True)
class DocumentChange:
    kind: str
    doc_id: str
    data: dict[str, Any] | None


class _Topic:
    def __init__(self) -> None:
        self.queues: set[_Tagged] = set()
        self.documents: dict[str, dict[str, Any]] = {}
        self.watch: Any = None
        self.ready = threading.Event()


class ListenerHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[Hashable, _Topic] = {}

    def open_listeners(self) -> int:
        with self._lock:
            return len(self._topics)

    def subscribe(
        self, key: Hashable, target: Any, inbox: Inbox | None = None, tag: str = ""
    ) -> Subscription:
        """Follow `target` (a DocumentReference or a Query) under `key`; its changes arrive in
        `inbox` (a new one by default) tagged `tag`, so one stream can follow several targets."""
        inbox = inbox or Inbox()
        tagged = _Tagged(inbox, tag)
        with self._lock:
            topic = self._topics.get(key)
            fresh = topic is None
            if topic is None:
                topic = self._topics[key] = _Topic()
            else:
                tagged.put(
                    [
                        DocumentChange(ADDED, doc_id, data)
                        for doc_id, data in topic.documents.items()
                    ]
                )
            topic.queues.add(tagged)
        if fresh:
            topic.watch = target.on_snapshot(self._callback(key, topic))
        return Subscription(self, key, topic, tagged)

    def _callback(self, key: Hashable, topic: _Topic) -> Callable[..., None]:
        def on_snapshot(snapshots: Any, changes: Any, read_time: Any) -> None:
            if not isinstance(snapshots, list):  # a document listener gets one snapshot
                snapshots = [snapshots]
            batch: list[DocumentChange] = []
            with self._lock:
                for change in changes:
                    kind = change.type.name
                    doc_id = change.document.id
                    if kind == REMOVED:
                        topic.documents.pop(doc_id, None)
                        batch.append(DocumentChange(REMOVED, doc_id, None))
                    else:
                        data = change.document.to_dict() or {}
                        topic.documents[doc_id] = data
                        batch.append(DocumentChange(kind, doc_id, data))
                queues = list(topic.queues)
            topic.ready.set()
            for inbox in queues:
                inbox.put(batch)

        return on_snapshot

    def _leave(self, key: Hashable, topic: _Topic, inbox: _Tagged) -> None:
        with self._lock:
            topic.queues.discard(inbox)
            if topic.queues or self._topics.get(key) is not topic:
                return
            del self._topics[key]
        if topic.watch is not None:
            topic.watch.unsubscribe()


class Inbox:
    """Where a stream's listeners deliver: (tag, changes) in arrival order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, list[DocumentChange]]] = queue.SimpleQueue()

    def put(self, tag: str, batch: list[DocumentChange]) -> None:
        self._queue.put((tag, batch))

    def get(self, timeout: float) -> tuple[str, list[DocumentChange]] | None:
        """The next (tag, changes), or None when nothing came within `timeout` seconds."""
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None


@dataclass(frozen=True, eq=False)
class _Tagged:
    inbox: Inbox
    tag: str

    def put(self, batch: list[DocumentChange]) -> None:
        self.inbox.put(self.tag, batch)


class Subscription:
    def __init__(self, hub: ListenerHub, key: Hashable, topic: _Topic, tagged: _Tagged) -> None:
        self._hub, self._key, self._topic, self._tagged = hub, key, topic, tagged

    @property
    def inbox(self) -> Inbox:
        return self._tagged.inbox

    def close(self) -> None:
        self._hub._leave(self._key, self._topic, self._tagged)


_HUB: ListenerHub | None = None
_HUB_LOCK = threading.Lock()


def listener_hub() -> ListenerHub:
    global _HUB
    with _HUB_LOCK:
        if _HUB is None:
            _HUB = ListenerHub()
        return _HUB
