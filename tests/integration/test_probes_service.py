"""The probe pipeline's services against the Firestore emulator.

Pub/Sub is represented by a recording publisher (the port the service depends on); the wiring
through the real Pub/Sub emulator and functions host is covered by the end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aide.adapters.processed_events import was_processed
from aide.domain.probes import ProbeStatus
from aide.services import probes


class RecordingPublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def publish(
        self,
        topic: str,
        data: Mapping[str, Any],
        *,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str = "",
        timeout: float = 30.0,
    ) -> str:
        self.messages.append((topic, dict(data), dict(attributes or {})))
        return f"msg-{len(self.messages)}"


def test_probe_goes_through_each_hop_once(fs_client: Any) -> None:
    publisher = RecordingPublisher()
    probe = probes.create_probe(fs_client)
    view = probes.get_probe(fs_client, probe.id)
    assert view is not None and view.probe.status is ProbeStatus.SENT and view.result is None

    assert probes.publish_probe(fs_client, publisher, event_id="ev-1", probe_id=probe.id)
    assert not probes.publish_probe(fs_client, publisher, event_id="ev-1", probe_id=probe.id)
    assert publisher.messages == [("probes", {"probeId": probe.id}, {"probeId": probe.id})]

    assert probes.record_probe_result(fs_client, message_id="msg-1", probe_id=probe.id)
    assert not probes.record_probe_result(fs_client, message_id="msg-1", probe_id=probe.id)

    view = probes.get_probe(fs_client, probe.id)
    assert view is not None
    assert view.probe.status is ProbeStatus.PUBLISHED
    assert view.probe.message_id == "msg-1"
    assert view.result is not None
    assert (view.result.message_id, view.result.deliveries) == ("msg-1", 1)
    assert was_processed(fs_client, "msg-1", probes.RESULT_CONSUMER)


def test_a_second_trigger_event_does_not_publish_an_already_published_probe(
    fs_client: Any,
) -> None:
    publisher = RecordingPublisher()
    probe = probes.create_probe(fs_client)
    probes.publish_probe(fs_client, publisher, event_id="ev-1", probe_id=probe.id)
    # A distinct event id for the same document (e.g. a re-fired trigger) still publishes nothing.
    probes.publish_probe(fs_client, publisher, event_id="ev-2", probe_id=probe.id)
    assert len(publisher.messages) == 1


def test_a_second_message_for_the_same_probe_keeps_the_first_result(fs_client: Any) -> None:
    probe = probes.create_probe(fs_client)
    assert probes.record_probe_result(fs_client, message_id="m-a", probe_id=probe.id)
    assert not probes.record_probe_result(fs_client, message_id="m-b", probe_id=probe.id)
    view = probes.get_probe(fs_client, probe.id)
    assert view is not None and view.result is not None and view.result.message_id == "m-a"


def test_unknown_probe(fs_client: Any) -> None:
    publisher = RecordingPublisher()
    assert probes.get_probe(fs_client, "missing") is None
    probes.publish_probe(fs_client, publisher, event_id="ev", probe_id="missing")
    assert publisher.messages == []
