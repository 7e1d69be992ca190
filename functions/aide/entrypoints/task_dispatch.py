"""The outbox relay's entry points: a task_dispatches/{dispatchId} document was created, and the
scheduled sweep of records whose trigger delivery was lost."""

from __future__ import annotations

from datetime import datetime

from aide.adapters.firestore_client import get_firestore
from aide.domain.task_dispatch import DISPATCH_STALE_AFTER
from aide.domain.timestamps import schedule_skew
from aide.services.task_dispatch import publish_dispatch, republish_stale_dispatches
from aide.structured_logging import get_logger

log = get_logger(__name__)


def on_dispatch_created(event_id: str, dispatch_id: str) -> None:
    from aide.adapters.pubsub_publisher import get_publisher

    published = publish_dispatch(get_firestore(), get_publisher(), dispatch_id)
    log.info(
        "task dispatch %s %s",
        dispatch_id,
        "published" if published else "already published",
        extra={"fields": {"eventId": event_id, "dispatchId": dispatch_id}},
    )


def sweep_stale_dispatches(schedule_time: datetime | None = None) -> None:
    from aide.adapters.pubsub_publisher import get_publisher

    published = republish_stale_dispatches(
        get_firestore(),
        get_publisher(),
        older_than=DISPATCH_STALE_AFTER - schedule_skew(schedule_time),
    )
    log.info(
        "task dispatch sweep published %d stale dispatches",
        published,
        extra={"fields": {"published": published}},
    )
