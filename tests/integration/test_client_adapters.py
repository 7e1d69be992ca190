"""The client adapters against local servers: Pub/Sub (this project's emulator), Cloud Storage
(gcp-storage-emulator), Firestore (the fs_client fixture's emulator) — and the health checks
built on them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from aide import config
from aide.adapters.pubsub_publisher import PubSubPublisher, topic_path
from aide.adapters.storage_client import create_storage_client
from aide.services.health import check_health, firestore_check, pubsub_check, storage_check


@pytest.fixture
def pubsub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from emulators.pubsub import PubSubEmulator

    with PubSubEmulator(port=0, admin_port=0) as emulator:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.address)
        yield emulator


@pytest.fixture
def storage_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    port = server._api._httpd.server_address[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_publish_sends_json_with_attributes(pubsub: Any, project: str) -> None:
    from google.cloud import pubsub_v1

    publisher = PubSubPublisher(project=project)
    publisher.ensure_topic("probes")
    publisher.ensure_topic("probes")  # idempotent
    subscriber = pubsub_v1.SubscriberClient()
    subscription = f"projects/{project}/subscriptions/check"
    subscriber.create_subscription(
        request={"name": subscription, "topic": topic_path("probes", project)}
    )
    try:
        message_id = publisher.publish("probes", {"probeId": "p1"}, attributes={"probeId": "p1"})
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 10}, timeout=30
        )
    finally:
        subscriber.close()

    (received,) = response.received_messages
    assert received.message.message_id == message_id
    assert json.loads(received.message.data) == {"probeId": "p1"}
    assert dict(received.message.attributes) == {"probeId": "p1"}


def test_publish_to_a_missing_topic_creates_it(pubsub: Any, project: str) -> None:
    publisher = PubSubPublisher(project=project)
    assert publisher.publish("fresh-topic", {"n": 1})
    topics = publisher.client.list_topics(request={"project": f"projects/{project}"})
    assert [topic.name for topic in topics] == [topic_path("fresh-topic", project)]


def test_storage_client_round_trip(storage_server: Any, project: str) -> None:
    client = create_storage_client(project)
    bucket = client.create_bucket(f"{project}.appspot.com")
    bucket.blob("outputs/t1.json").upload_from_string(
        '{"ok": true}', content_type="application/json"
    )
    assert client.bucket(bucket.name).blob("outputs/t1.json").download_as_bytes() == (
        b'{"ok": true}'
    )


def test_default_bucket_name_follows_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCLOUD_PROJECT", "acme")
    monkeypatch.delenv("STORAGE_BUCKET", raising=False)
    assert config.storage_bucket() == "acme.appspot.com"
    monkeypatch.setenv("STORAGE_BUCKET", "acme-outputs")
    assert config.storage_bucket() == "acme-outputs"


def test_health_checks_against_live_services(
    fs_client: Any, pubsub: Any, storage_server: Any, project: str
) -> None:
    publisher = PubSubPublisher(project=project)
    storage = create_storage_client(project)
    report = check_health(
        firestore=firestore_check(fs_client),
        pubsub=pubsub_check(publisher.client, project),
        storage=storage_check(storage, f"{project}.appspot.com"),
    )
    assert report.ok, report
    assert all(
        check.latency_ms >= 0
        for check in (report.checks.firestore, report.checks.pubsub, report.checks.storage)
    )

    storage_server.stop()
    report = check_health(
        firestore=firestore_check(fs_client),
        pubsub=pubsub_check(publisher.client, project),
        storage=storage_check(storage, f"{project}.appspot.com"),
        timeout=2.0,
    )
    assert not report.ok
    assert report.checks.firestore.ok and report.checks.pubsub.ok
    assert not report.checks.storage.ok
    # Refused at once, not retried until the deadline.
    assert report.checks.storage.error and "timed out" not in report.checks.storage.error
