"""In-memory topics and subscriptions: the state behind the Publisher and Subscriber APIs.

Every resource is keyed by its full name, which starts with `projects/{p}/`, so projects are
isolated by construction. Push subscriptions hand each published message to a sink (the push
dispatcher); pull subscriptions queue it until it is pulled and acknowledged.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from google.protobuf import field_mask_pb2

from emulators.pubsub import protos
from emulators.pubsub.errors import PubSubError, StatusCode
from emulators.pubsub.messages import PublishedMessage
from emulators.pubsub.names import check_subscription, check_topic, project_of
from emulators.pubsub.push_subscriptions import PushSubscription

DEFAULT_ACK_DEADLINE_SECONDS = 10
MAX_ACK_DEADLINE_SECONDS = 600
DELETED_TOPIC = "_deleted-topic_"
_TOPIC_FIELDS = frozenset(protos.Topic.DESCRIPTOR.fields_by_name)

PushSink = Callable[[PushSubscription, PublishedMessage], None]


@dataclasses.dataclass
class _Lease:
    message: PublishedMessage
    deadline: float  # time.monotonic()


@dataclasses.dataclass
class _Subscription:
    pb: Any  # protos.Subscription
    push: PushSubscription | None = None
    pending: collections.deque[PublishedMessage] = dataclasses.field(
        default_factory=collections.deque
    )
    leases: dict[str, _Lease] = dataclasses.field(default_factory=dict)

    def expire_leases(self, now: float) -> float | None:
        """Returns expired messages to the queue; gives the next lease deadline, if any."""
        expired = [ack_id for ack_id, lease in self.leases.items() if lease.deadline <= now]
        for ack_id in expired:
            self.pending.appendleft(self.leases.pop(ack_id).message)
        return min((lease.deadline for lease in self.leases.values()), default=None)


class Broker:
    def __init__(self, push_sink: PushSink) -> None:
        self._push_sink = push_sink
        self._changed = threading.Condition()
        self._topics: dict[str, Any] = {}
        self._subscriptions: dict[str, _Subscription] = {}
        # Real message ids are decimal strings; starting high keeps them looking alike.
        self._message_ids = itertools.count(1_000_000_000_000)

    # Topics

    def create_topic(self, topic: Any) -> Any:
        check_topic(topic.name)
        with self._changed:
            if topic.name in self._topics:
                raise PubSubError(StatusCode.ALREADY_EXISTS, "Topic already exists")
            stored = protos.Topic()
            stored.CopyFrom(topic)
            self._topics[topic.name] = stored
            return _copy(stored)

    def get_topic(self, name: str) -> Any:
        check_topic(name)
        with self._changed:
            return _copy(self._topic(name))

    def update_topic(self, topic: Any, paths: Sequence[str]) -> Any:
        check_topic(topic.name)
        if not paths:
            raise PubSubError(StatusCode.INVALID_ARGUMENT, "No update_mask provided")
        with self._changed:
            stored = self._topic(topic.name)
            for path in paths:
                if path == "name" or path.split(".")[0] not in _TOPIC_FIELDS:
                    raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid update_mask {path}")
            field_mask_pb2.FieldMask(paths=list(paths)).MergeMessage(
                topic, stored, replace_message_field=True, replace_repeated_field=True
            )
            return _copy(stored)

    def list_topics(self, project: str) -> list[Any]:
        prefix = f"projects/{project}/topics/"
        with self._changed:
            return [
                _copy(self._topics[name])
                for name in sorted(self._topics)
                if name.startswith(prefix)
            ]

    def topic_subscriptions(self, topic: str) -> list[str]:
        check_topic(topic)
        with self._changed:
            self._topic(topic)
            return sorted(
                name for name, sub in self._subscriptions.items() if sub.pb.topic == topic
            )

    def delete_topic(self, name: str) -> None:
        check_topic(name)
        with self._changed:
            self._topic(name)
            del self._topics[name]
            # As in Pub/Sub, subscriptions outlive their topic but are detached from it.
            for sub in self._subscriptions.values():
                if sub.pb.topic == name:
                    sub.pb.topic = DELETED_TOPIC

    def publish(self, topic: str, messages: Iterable[Any]) -> list[str]:
        check_topic(topic)
        now = dt.datetime.now(dt.UTC)
        with self._changed:
            self._topic(topic)
            published = []
            for message in messages:
                if not message.data and not message.attributes:
                    raise PubSubError(
                        StatusCode.INVALID_ARGUMENT,
                        "Some messages contain no data and no attribute field",
                    )
                published.append(
                    PublishedMessage(
                        topic=topic,
                        message_id=str(next(self._message_ids)),
                        data=bytes(message.data),
                        attributes=dict(message.attributes),
                        ordering_key=message.ordering_key,
                        publish_time=now,
                    )
                )
            targets = [sub for sub in self._subscriptions.values() if sub.pb.topic == topic]
            for sub in targets:
                if sub.push is None:
                    sub.pending.extend(published)
            self._changed.notify_all()
        for sub in targets:
            if sub.push is not None:
                for message in published:
                    self._push_sink(sub.push, message)
        return [message.message_id for message in published]

    # Subscriptions

    def create_subscription(self, subscription: Any) -> Any:
        check_subscription(subscription.name)
        check_topic(subscription.topic)
        with self._changed:
            if subscription.name in self._subscriptions:
                raise PubSubError(StatusCode.ALREADY_EXISTS, "Subscription already exists")
            self._topic(subscription.topic)
            stored = protos.Subscription()
            stored.CopyFrom(subscription)
            stored.ack_deadline_seconds = _ack_deadline(stored.ack_deadline_seconds)
            self._subscriptions[stored.name] = _Subscription(pb=stored)
            return _copy(stored)

    def get_subscription(self, name: str) -> Any:
        check_subscription(name)
        with self._changed:
            return _copy(self._subscription(name).pb)

    def list_subscriptions(self, project: str) -> list[Any]:
        prefix = f"projects/{project}/subscriptions/"
        with self._changed:
            return [
                _copy(self._subscriptions[name].pb)
                for name in sorted(self._subscriptions)
                if name.startswith(prefix)
            ]

    def delete_subscription(self, name: str) -> None:
        check_subscription(name)
        with self._changed:
            self._subscription(name)
            del self._subscriptions[name]
            self._changed.notify_all()

    def set_push_subscriptions(
        self, project: str, subscriptions: Sequence[PushSubscription]
    ) -> None:
        """Replaces the project's push subscriptions, creating topics that do not exist yet."""
        with self._changed:
            for name in [
                name
                for name, sub in self._subscriptions.items()
                if sub.push is not None and project_of(name) == project
            ]:
                del self._subscriptions[name]
            for push in subscriptions:
                if push.name in self._subscriptions:
                    raise PubSubError(
                        StatusCode.ALREADY_EXISTS, f"Subscription already exists: {push.name}"
                    )
                self._topics.setdefault(push.topic, protos.Topic(name=push.topic))
                pb = protos.Subscription(
                    name=push.name,
                    topic=push.topic,
                    push_config=protos.PushConfig(push_endpoint=push.url),
                    ack_deadline_seconds=DEFAULT_ACK_DEADLINE_SECONDS,
                )
                self._subscriptions[push.name] = _Subscription(pb=pb, push=push)

    def push_subscriptions(self, project: str) -> list[PushSubscription]:
        with self._changed:
            return [
                sub.push
                for name, sub in sorted(self._subscriptions.items())
                if sub.push is not None and project_of(name) == project
            ]

    # Pull

    def pull(
        self,
        name: str,
        max_messages: int,
        wait_seconds: float,
        ack_deadline_seconds: int | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Any]:
        """Leases up to `max_messages`; waits up to `wait_seconds` for one when none is ready."""
        check_subscription(name)
        give_up = time.monotonic() + wait_seconds
        with self._changed:
            while True:
                sub = self._subscription(name)
                now = time.monotonic()
                next_expiry = sub.expire_leases(now)
                if sub.pending or now >= give_up or cancelled():
                    break
                timeout = give_up - now
                if next_expiry is not None:
                    timeout = min(timeout, max(next_expiry - now, 0.0))
                self._changed.wait(timeout)
            deadline_seconds = ack_deadline_seconds or sub.pb.ack_deadline_seconds
            received: list[Any] = []
            while sub.pending and len(received) < max(max_messages, 1):
                message = sub.pending.popleft()
                ack_id = uuid.uuid4().hex
                sub.leases[ack_id] = _Lease(message, now + deadline_seconds)
                received.append(protos.ReceivedMessage(ack_id=ack_id, message=_to_pb(message)))
            return received

    def acknowledge(self, name: str, ack_ids: Iterable[str]) -> None:
        check_subscription(name)
        with self._changed:
            sub = self._subscription(name)
            for ack_id in ack_ids:
                sub.leases.pop(ack_id, None)

    def modify_ack_deadline(self, name: str, ack_ids: Iterable[str], seconds: int) -> None:
        check_subscription(name)
        if not 0 <= seconds <= MAX_ACK_DEADLINE_SECONDS:
            raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid ack deadline: {seconds}")
        with self._changed:
            sub = self._subscription(name)
            now = time.monotonic()
            for ack_id in ack_ids:
                lease = sub.leases.get(ack_id)
                if lease is not None:
                    lease.deadline = now + seconds
            sub.expire_leases(now)
            self._changed.notify_all()

    def wake(self) -> None:
        """Lets blocked pulls re-check their cancellation."""
        with self._changed:
            self._changed.notify_all()

    def clear(self, project: str | None = None) -> None:
        prefix = "projects/" if project is None else f"projects/{project}/"
        with self._changed:
            for store in (self._topics, self._subscriptions):
                for name in [name for name in store if name.startswith(prefix)]:
                    del store[name]
            self._changed.notify_all()

    def _topic(self, name: str) -> Any:
        try:
            return self._topics[name]
        except KeyError:
            raise PubSubError(StatusCode.NOT_FOUND, f"Topic not found: {name}") from None

    def _subscription(self, name: str) -> _Subscription:
        try:
            return self._subscriptions[name]
        except KeyError:
            raise PubSubError(
                StatusCode.NOT_FOUND, f"Subscription does not exist: {name}"
            ) from None


def _ack_deadline(seconds: int) -> int:
    if seconds == 0:
        return DEFAULT_ACK_DEADLINE_SECONDS
    if not 10 <= seconds <= MAX_ACK_DEADLINE_SECONDS:
        raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid ack deadline: {seconds}")
    return seconds


def _copy(message: Any) -> Any:
    """Answers carry copies: they are serialised outside the lock, while updates may run."""
    duplicate = type(message)()
    duplicate.CopyFrom(message)
    return duplicate


def _to_pb(message: PublishedMessage) -> Any:
    pb = protos.PubsubMessage(
        data=message.data,
        attributes=message.attributes,
        message_id=message.message_id,
        ordering_key=message.ordering_key,
    )
    pb.publish_time.FromDatetime(message.publish_time)
    return pb
