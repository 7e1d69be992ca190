"""Document-change events delivered to trigger endpoints exactly as Eventarc delivers them.

After each commit, every changed document is matched against the project's triggers
(``{"name", "eventType", "document", "database", "url"}``; ``document`` is a path pattern such
as ``tasks/{taskId}`` or ``users/{uid}/{rest=**}``). Matching events are POSTed as binary-mode
CloudEvents whose body is a serialized ``google.events.cloud.firestore.v1.DocumentEventData``.

Delivery happens on one background thread, so events reach endpoints in commit order; a failed
delivery is logged as a JSON line and not retried (Python Firestore triggers have no retries).
Fault injection: a seeded share of deliveries (optionally only for some trigger names) can be
dropped on purpose (`set_loss`), each one logged and listed in `lost()`.
"""

from __future__ import annotations

import http.client
import queue
import random
import threading
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emulators.firestore import clock
from emulators.firestore.paths import render_field
from emulators.firestore.store import Change, Database
from emulators.json_log import JsonLog

EVENT_PREFIX = "google.cloud.firestore.document.v1."
EVENT_KINDS = ("written", "created", "updated", "deleted")
DEFAULT_LOCATION = "nam5"
_DELIVERY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Trigger:
    name: str
    event_type: str
    document: tuple[str, ...]
    database: str
    url: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trigger:
        event_type = str(data["eventType"])
        if not event_type.startswith(EVENT_PREFIX) or event_type[len(EVENT_PREFIX) :] not in (
            EVENT_KINDS
        ):
            raise ValueError(f"unsupported eventType {event_type!r}")
        return cls(
            name=str(data.get("name", "")),
            event_type=event_type,
            document=tuple(s for s in str(data["document"]).strip("/").split("/") if s),
            database=str(data.get("database") or "(default)"),
            url=str(data["url"]),
        )

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "eventType": self.event_type,
            "document": "/".join(self.document),
            "database": self.database,
            "url": self.url,
        }


def pattern_matches(pattern: Sequence[str], path: Sequence[str]) -> bool:
    """Eventarc path patterns: ``{x}``/``*`` match one segment, ``{x=**}``/``**`` any number."""
    if not pattern:
        return not path
    head = pattern[0]
    if head == "**" or (head.startswith("{") and head.endswith("=**}")):
        return any(pattern_matches(pattern[1:], path[i:]) for i in range(len(path) + 1))
    if not path:
        return False
    if head == "*" or (head.startswith("{") and head.endswith("}")) or head == path[0]:
        return pattern_matches(pattern[1:], path[1:])
    return False


def changed_field_paths(old: Any, new: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    """Field paths whose values differ, descending into maps present on both sides."""
    paths: list[str] = []
    for key in sorted(set(old.keys()) | set(new.keys())):
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and before == after:
            continue
        if (
            before is not None
            and after is not None
            and before.WhichOneof("value_type") == "map_value"
            and after.WhichOneof("value_type") == "map_value"
        ):
            paths.extend(
                changed_field_paths(before.map_value.fields, after.map_value.fields, (*prefix, key))
            )
        else:
            paths.append(render_field((*prefix, key)))
    return paths


@dataclass
class _Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    copies: int
    trigger: str = ""


# One log for the whole emulator: trigger failures and admin API errors.
log = JsonLog("firestore-emulator").write


class TriggerDispatcher:
    """Holds each project's triggers and delivers matching events on a background thread."""

    def __init__(self, location: str = DEFAULT_LOCATION) -> None:
        self.location = location
        self.duplicate_delivery = False
        self.loss_rate = 0.0
        self._loss_only: frozenset[str] = frozenset()
        self._loss_random = random.Random(0)
        self._lost: list[dict[str, str]] = []
        self._failed: list[dict[str, str]] = []
        self._triggers: dict[str, list[Trigger]] = {}
        self._queue: queue.Queue[_Delivery | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def set_triggers(self, project: str, triggers: Sequence[dict[str, Any]]) -> None:
        parsed = [Trigger.from_json(t) for t in triggers]
        if parsed:
            self._triggers[project] = parsed
        else:
            self._triggers.pop(project, None)

    def set_loss(self, rate: float, seed: int = 0, only: Sequence[str] = ()) -> None:
        """Drop that share (0..1) of deliveries, of every trigger or only of the named ones."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("triggerLossRate must be between 0 and 1")
        with self._idle:
            self.loss_rate = rate
            self._loss_only = frozenset(only)
            self._loss_random = random.Random(seed)

    def lost(self) -> list[dict[str, str]]:
        """The deliveries dropped on purpose: trigger name, document, event id."""
        with self._idle:
            return list(self._lost)

    def failed(self) -> list[dict[str, str]]:
        """Deliveries that failed (endpoint down or answering an error): lost, as in production."""
        with self._idle:
            return list(self._failed)

    def _drops(self, delivery: _Delivery) -> bool:
        with self._idle:
            if self.loss_rate <= 0.0 or (
                self._loss_only and delivery.trigger not in self._loss_only
            ):
                return False
            if self._loss_random.random() >= self.loss_rate:
                return False
            self._lost.append(_describe(delivery))
        log(
            "WARNING",
            f"trigger delivery to {delivery.url} dropped (injected loss)",
            trigger=delivery.trigger,
            document=delivery.headers["ce-document"],
        )
        return True

    def triggers(self, project: str) -> list[Trigger]:
        return list(self._triggers.get(project, []))

    # Commit hook: runs under the database lock, so enqueue order is commit order.
    def on_commit(self, db: Database, micros: int, changes: list[Change]) -> None:
        triggers = self._triggers.get(db.id.project)
        if not triggers:
            return
        root_len = len(db.id.root) + 1
        for change in changes:
            relative = change.name[root_len:]
            segments = relative.split("/")
            kind = _event_kind(change)
            for trigger in triggers:
                if trigger.database != db.id.database:
                    continue
                wanted = trigger.event_type[len(EVENT_PREFIX) :]
                if wanted not in ("written", kind):
                    continue
                if not pattern_matches(trigger.document, segments):
                    continue
                self._enqueue(trigger, db, micros, change, relative, kind)

    def _enqueue(
        self, trigger: Trigger, db: Database, micros: int, change: Change, relative: str, kind: str
    ) -> None:
        from google.events.cloud.firestore import DocumentEventData

        data = DocumentEventData.pb()()
        if change.new is not None:
            data.value.ParseFromString(change.new.SerializeToString())
        if change.old is not None:
            data.old_value.ParseFromString(change.old.SerializeToString())
        if kind == "updated":
            data.update_mask.field_paths.extend(
                changed_field_paths(change.old.fields, change.new.fields)
            )
        headers = {
            "Content-Type": "application/protobuf",
            "ce-id": str(uuid.uuid4()),
            "ce-source": f"//firestore.googleapis.com/{db.id.name}",
            "ce-specversion": "1.0",
            "ce-type": trigger.event_type,
            "ce-subject": f"documents/{relative}",
            "ce-time": clock.rfc3339(micros),
            "ce-project": db.id.project,
            "ce-location": self.location,
            "ce-database": db.id.database,
            "ce-namespace": "(default)",
            "ce-document": relative,
        }
        copies = 2 if self.duplicate_delivery else 1
        with self._idle:
            self._pending += 1
            self._ensure_thread()
        self._queue.put(
            _Delivery(trigger.url, headers, data.SerializeToString(), copies, trigger.name)
        )

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="firestore-trigger-delivery", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                if self._drops(delivery):
                    continue
                for _ in range(delivery.copies):
                    if not _post(delivery):
                        with self._idle:
                            self._failed.append(_describe(delivery))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery has been attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
        self._thread = None


def _describe(delivery: _Delivery) -> dict[str, str]:
    return {
        "trigger": delivery.trigger,
        "document": delivery.headers["ce-document"],
        "ceId": delivery.headers["ce-id"],
    }


def _event_kind(change: Change) -> str:
    if change.old is None:
        return "created"
    if change.new is None:
        return "deleted"
    return "updated"


def _post(delivery: _Delivery) -> bool:
    url = urllib.parse.urlsplit(delivery.url)
    connection_cls = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    try:
        connection = connection_cls(url.netloc, timeout=_DELIVERY_TIMEOUT_SECONDS)
        try:
            connection.request("POST", path, body=delivery.body, headers=delivery.headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        finally:
            connection.close()
    except OSError as exc:
        log(
            "ERROR",
            f"trigger delivery to {delivery.url} failed: {exc}",
            ceId=delivery.headers["ce-id"],
            ceType=delivery.headers["ce-type"],
            document=delivery.headers["ce-document"],
        )
        return False
    if status >= 300:
        log(
            "ERROR",
            f"trigger delivery to {delivery.url} failed with HTTP {status}",
            ceId=delivery.headers["ce-id"],
            ceType=delivery.headers["ce-type"],
            document=delivery.headers["ce-document"],
        )
        return False
    return True
