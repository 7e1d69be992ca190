"""The probe pipeline: an end-to-end diagnostic of HTTP -> Firestore trigger -> Pub/Sub -> result.

Each hop is idempotent: the trigger publishes at most once per event (run_once, keyed by the
CloudEvent id) and the subscriber writes the result at most once per message and per probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aide.adapters.processed_events import run_once
from aide.adapters.repositories import ProbeRepository, ProbeResultRepository
from aide.domain import topics
from aide.domain.probes import Probe, ProbeMessage, ProbeResult, ProbeStatus, ProbeView
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.pubsub_publisher import MessagePublisher
    from aide.adapters.unit_of_work import UnitOfWork

PUBLISH_CONSUMER: Final = "on_probe_created"
RESULT_CONSUMER: Final = "on_probe_message"


def create_probe(db: Client) -> Probe:
    probes = ProbeRepository(db)
    probe = Probe(id=probes.new_id())
    probes.create(probe)
    return probe


def publish_probe(db: Client, publisher: MessagePublisher, *, event_id: str, probe_id: str) -> bool:
    """Publishes the probe once per trigger event. True if this call did the work."""

    def effect(uow: UnitOfWork) -> None:
        probe = uow.probes.get(probe_id)
        if probe is None or probe.status != ProbeStatus.SENT:
            return
        # Inside the transaction: a retried commit may publish again, which the subscriber
        # absorbs (one result per probe); publishing after commit could lose the message.
        message_id = publisher.publish(
            topics.PROBES,
            ProbeMessage(probe_id=probe_id).to_json_dict(),
            attributes={"probeId": probe_id},
        )
        uow.probes.update(
            probe_id,
            {
                "status": str(ProbeStatus.PUBLISHED),
                "messageId": message_id,
                "publishedAt": utc_now(),
            },
        )

    return run_once(db, event_id, effect, consumer=PUBLISH_CONSUMER).ran


def record_probe_result(db: Client, *, message_id: str, probe_id: str) -> bool:
    """Writes probe_results/{probeId} once. True if this call wrote it."""

    def effect(uow: UnitOfWork) -> bool:
        if uow.probe_results.get(probe_id) is not None:
            return False
        uow.probe_results.create(
            ProbeResult(probe_id=probe_id, message_id=message_id, deliveries=1)
        )
        return True

    outcome = run_once(db, message_id, effect, consumer=RESULT_CONSUMER)
    return bool(outcome.ran and outcome.value)


def get_probe(db: Client, probe_id: str) -> ProbeView | None:
    probe = ProbeRepository(db).get(probe_id)
    if probe is None:
        return None
    return ProbeView(probe=probe, result=ProbeResultRepository(db).get(probe_id))
