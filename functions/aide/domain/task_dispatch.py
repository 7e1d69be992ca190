"""Dispatching a task: the outbox record written with the queued task, and the Pub/Sub message.

The record (`task_dispatches/{dispatchId}`) is committed in the same transaction that moves the
task to `queued`, so a crash after the commit cannot lose the dispatch: the record's creation
triggers the publish, and the record remembers that it was published so a redelivered trigger
does not publish again. `dispatchId` is the id of the task's `queued` event, one per queueing.
Firestore triggers are not retried, so a scheduled sweeper republishes records still unpublished
a while after their creation (services.task_dispatch.republish_stale_dispatches).
"""

from datetime import timedelta
from typing import Final

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now

# Outbox records only matter until published; keep them as long as trigger retries may last.
DISPATCH_RECORD_TTL: Final = timedelta(days=8)
# A record still unpublished this long after its creation lost its trigger delivery.
DISPATCH_STALE_AFTER: Final = timedelta(minutes=2)


class TaskDispatch(DocumentModel):
    """task_dispatches/{dispatchId}."""

    id: str
    task_id: str
    user_id: str
    created_at: UtcDateTime = Field(default_factory=utc_now)
    # Stored explicitly (not only as publishedAt's presence) so the sweeper can query for False.
    published: bool = False
    published_at: UtcDateTime | None = None
    message_id: str | None = None
    expires_at: UtcDateTime


class TaskDispatchMessage(DocumentModel):
    """The JSON body of a message on topics.TASK_DISPATCH."""

    task_id: str
    dispatch_id: str
    user_id: str
