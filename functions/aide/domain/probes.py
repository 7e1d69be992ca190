"""probes/{probeId} and probe_results/{probeId}: an end-to-end diagnostic of the event pipeline.

HTTP write -> Firestore trigger -> Pub/Sub -> subscriber writes the result, once.
"""

from enum import StrEnum

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now


class ProbeStatus(StrEnum):
    SENT = "sent"
    PUBLISHED = "published"


class Probe(DocumentModel):
    id: str
    status: ProbeStatus = ProbeStatus.SENT
    created_at: UtcDateTime = Field(default_factory=utc_now)
    published_at: UtcDateTime | None = None
    message_id: str | None = None


class ProbeResult(DocumentModel):
    probe_id: str
    message_id: str
    received_at: UtcDateTime = Field(default_factory=utc_now)
    deliveries: int = Field(default=1, ge=1)


class ProbeMessage(DocumentModel):
    """The Pub/Sub payload on topic `probes`."""

    probe_id: str


class ProbeCreated(DocumentModel):
    probe_id: str


class ProbeView(DocumentModel):
    """GET /probes/{probeId}: the probe and, once the pipeline has run, its result."""

    probe: Probe
    result: ProbeResult | None = None
