"""The functions declared in main.py, called directly the way their triggers call them, against
the Firestore emulator (the HTTP / Pub/Sub / scheduler wiring itself is the end-to-end tests')."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cloudevents.http import CloudEvent
from flask import Flask

from aide.adapters.firestore_client import reset_firestore_client
from aide.domain.timestamps import utc_now
from aide.services import probes


@pytest.fixture
def platform_firestore(fs_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Points the functions' own lazily created Firestore client at the test's project."""
    monkeypatch.setenv("GCLOUD_PROJECT", fs_client.project)
    reset_firestore_client()
    yield fs_client
    reset_firestore_client()


def _pubsub_event(message_id: str, data: bytes) -> CloudEvent:
    published = "2026-01-01T00:00:00.000000Z"
    message = {
        "data": base64.b64encode(data).decode(),
        "messageId": message_id,
        "message_id": message_id,
        "publishTime": published,
        "publish_time": published,
        "attributes": {},
    }
    return CloudEvent(
        {
            "id": message_id,
            "source": "//pubsub.googleapis.com/projects/p/topics/probes",
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "specversion": "1.0",
            "time": published,
        },
        {"message": message, "subscription": "projects/p/subscriptions/on_probe_message"},
    )


def test_the_declared_subscriber_writes_the_result_once_per_message(
    platform_firestore: Any,
) -> None:
    import main

    probe = probes.create_probe(platform_firestore)
    payload = json.dumps({"probeId": probe.id}).encode()
    main.on_probe_message(_pubsub_event("m-1", payload))
    main.on_probe_message(_pubsub_event("m-1", payload))  # duplicate delivery

    results = list(platform_firestore.collection("probe_results").stream())
    assert [snapshot.id for snapshot in results] == [probe.id]
    assert results[0].to_dict()["deliveries"] == 1
    assert results[0].to_dict()["messageId"] == "m-1"


def test_a_malformed_message_is_acknowledged_not_retried(platform_firestore: Any) -> None:
    import main

    main.on_probe_message(_pubsub_event("m-bad", b"not json"))
    main.on_probe_message(_pubsub_event("m-bad-2", b'{"unexpected": 1}'))
    assert list(platform_firestore.collection("probe_results").stream()) == []


def test_the_scheduled_purge_deletes_expired_markers(platform_firestore: Any) -> None:
    import main

    now = utc_now()
    markers = platform_firestore.collection("processed_events")
    markers.document("old").set({"expiresAt": now - timedelta(hours=1)})
    markers.document("live").set({"expiresAt": now + timedelta(hours=1)})

    with Flask(__name__).test_request_context(
        "/", method="POST", headers={"X-CloudScheduler-JobName": "purge_expired"}
    ):
        from flask import request

        response = main.purge_expired(request)

    assert response.status_code == 200
    assert [snapshot.id for snapshot in markers.stream()] == ["live"]
