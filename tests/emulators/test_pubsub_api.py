"""The Pub/Sub emulator's gRPC API, driven through the official google-cloud-pubsub clients."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from google.api_core import exceptions
from google.cloud import pubsub_v1

from emulators.pubsub import PubSubEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[PubSubEmulator]:
    with PubSubEmulator() as running:
        yield running


@pytest.fixture
def clients(
    emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient]]:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.address)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    subscriber = pubsub_v1.SubscriberClient()
    yield publisher, subscriber
    publisher.stop()
    subscriber.close()


@pytest.fixture
def project() -> str:
    return f"demo-{uuid.uuid4().hex[:10]}"


def test_topic_crud(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    path = publisher.topic_path(project, "orders")

    created = publisher.create_topic(request={"name": path, "labels": {"team": "a"}})
    assert created.name == path
    assert publisher.get_topic(request={"topic": path}).labels == {"team": "a"}
    with pytest.raises(exceptions.AlreadyExists):
        publisher.create_topic(request={"name": path})

    publisher.create_topic(request={"name": publisher.topic_path(project, "audits")})
    names = [t.name for t in publisher.list_topics(request={"project": f"projects/{project}"})]
    assert names == [publisher.topic_path(project, "audits"), path]

    updated = publisher.update_topic(
        request={
            "topic": {"name": path, "labels": {"team": "b"}},
            "update_mask": {"paths": ["labels"]},
        }
    )
    assert updated.labels == {"team": "b"}

    publisher.delete_topic(request={"topic": path})
    with pytest.raises(exceptions.NotFound):
        publisher.get_topic(request={"topic": path})
    with pytest.raises(exceptions.NotFound):
        publisher.delete_topic(request={"topic": path})


def test_list_topics_pages(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    expected = [publisher.topic_path(project, f"topic-{index:02d}") for index in range(7)]
    for path in expected:
        publisher.create_topic(request={"name": path})
    pager = publisher.list_topics(request={"project": f"projects/{project}", "page_size": 3})
    assert [t.name for t in pager] == expected


def test_invalid_topic_name(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    with pytest.raises(exceptions.InvalidArgument):
        publisher.create_topic(request={"name": f"projects/{project}/topics/1-starts-with-digit"})


def test_publish_returns_distinct_message_ids(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    path = publisher.topic_path(project, "events")
    publisher.create_topic(request={"name": path})
    futures = [publisher.publish(path, f"m{index}".encode(), kind="test") for index in range(5)]
    ids = [future.result(timeout=30) for future in futures]
    assert len(set(ids)) == 5
    assert all(message_id.isdigit() for message_id in ids)


def test_publish_to_missing_topic_is_not_found(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    future = publisher.publish(publisher.topic_path(project, "missing"), b"x")
    with pytest.raises(exceptions.NotFound):
        future.result(timeout=30)


def test_publish_without_data_or_attributes_is_rejected(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, _ = clients
    path = publisher.topic_path(project, "events")
    publisher.create_topic(request={"name": path})
    with pytest.raises(exceptions.InvalidArgument):
        publisher.api.publish(topic=path, messages=[{"data": b""}])


def test_pull_ack_and_redelivery(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, subscriber = clients
    topic = publisher.topic_path(project, "jobs")
    subscription = subscriber.subscription_path(project, "jobs-worker")
    publisher.create_topic(request={"name": topic})
    publisher.publish(topic, b"before-subscription").result(timeout=30)
    subscriber.create_subscription(request={"name": subscription, "topic": topic})
    assert publisher.list_topic_subscriptions(request={"topic": topic}).subscriptions == [
        subscription
    ]

    first_id = publisher.publish(topic, b"one", colour="red", ordering_key="k").result(timeout=30)
    publisher.publish(topic, b"two", ordering_key="k").result(timeout=30)

    pulled = subscriber.pull(request={"subscription": subscription, "max_messages": 10}, timeout=30)
    messages = [received.message for received in pulled.received_messages]
    # Messages published before the subscription existed are not delivered to it.
    assert [m.data for m in messages] == [b"one", b"two"]
    assert messages[0].message_id == first_id
    assert messages[0].attributes == {"colour": "red"}
    assert messages[0].ordering_key == "k"
    assert messages[0].publish_time.timestamp() > 0

    one, two = pulled.received_messages
    subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [one.ack_id]})
    # A nack (deadline 0) puts the message straight back.
    subscriber.modify_ack_deadline(
        request={"subscription": subscription, "ack_ids": [two.ack_id], "ack_deadline_seconds": 0}
    )
    again = subscriber.pull(request={"subscription": subscription, "max_messages": 10}, timeout=30)
    assert [r.message.data for r in again.received_messages] == [b"two"]
    subscriber.acknowledge(
        request={"subscription": subscription, "ack_ids": [again.received_messages[0].ack_id]}
    )
    empty = subscriber.pull(
        request={"subscription": subscription, "max_messages": 10, "return_immediately": True},
        timeout=30,
    )
    assert list(empty.received_messages) == []


def test_subscription_crud(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, subscriber = clients
    topic = publisher.topic_path(project, "jobs")
    subscription = subscriber.subscription_path(project, "jobs-sub")
    with pytest.raises(exceptions.NotFound):
        subscriber.create_subscription(request={"name": subscription, "topic": topic})
    publisher.create_topic(request={"name": topic})
    created = subscriber.create_subscription(
        request={"name": subscription, "topic": topic, "ack_deadline_seconds": 30}
    )
    assert created.ack_deadline_seconds == 30
    assert subscriber.get_subscription(request={"subscription": subscription}).topic == topic
    with pytest.raises(exceptions.AlreadyExists):
        subscriber.create_subscription(request={"name": subscription, "topic": topic})
    listed = subscriber.list_subscriptions(request={"project": f"projects/{project}"})
    assert [s.name for s in listed] == [subscription]

    publisher.delete_topic(request={"topic": topic})
    assert (
        subscriber.get_subscription(request={"subscription": subscription}).topic
        == "_deleted-topic_"
    )
    subscriber.delete_subscription(request={"subscription": subscription})
    with pytest.raises(exceptions.NotFound):
        subscriber.get_subscription(request={"subscription": subscription})


def test_streaming_pull_subscribe(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient], project: str
) -> None:
    publisher, subscriber = clients
    topic = publisher.topic_path(project, "stream")
    subscription = subscriber.subscription_path(project, "stream-sub")
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(request={"name": subscription, "topic": topic})

    received: list[bytes] = []
    all_in = threading.Event()

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        received.append(message.data)
        message.ack()
        if len(received) == 3:
            all_in.set()

    streaming = subscriber.subscribe(subscription, callback)
    try:
        for index in range(3):
            publisher.publish(topic, f"s{index}".encode()).result(timeout=30)
        assert all_in.wait(20), f"received only {received}"
    finally:
        streaming.cancel()
        streaming.result(timeout=20)
    assert sorted(received) == [b"s0", b"s1", b"s2"]
    # Everything was acknowledged, so nothing comes back.
    rest = subscriber.pull(
        request={"subscription": subscription, "max_messages": 10, "return_immediately": True},
        timeout=30,
    )
    assert list(rest.received_messages) == []


def test_projects_are_isolated(
    clients: tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient],
    emulator: PubSubEmulator,
) -> None:
    publisher, _ = clients
    first, second = f"iso-a-{uuid.uuid4().hex[:6]}", f"iso-b-{uuid.uuid4().hex[:6]}"
    publisher.create_topic(request={"name": publisher.topic_path(first, "shared-name")})
    assert list(publisher.list_topics(request={"project": f"projects/{second}"})) == []
    with pytest.raises(exceptions.NotFound):
        publisher.get_topic(request={"topic": publisher.topic_path(second, "shared-name")})
    publisher.create_topic(request={"name": publisher.topic_path(second, "shared-name")})

    emulator.clear(first)
    assert list(publisher.list_topics(request={"project": f"projects/{first}"})) == []
    assert [t.name for t in publisher.list_topics(request={"project": f"projects/{second}"})] == [
        publisher.topic_path(second, "shared-name")
    ]


def test_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="cannot bind"):
            PubSubEmulator(port=taken.getsockname()[1]).start()
