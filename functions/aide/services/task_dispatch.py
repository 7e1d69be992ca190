"""Publishing dispatches: the relay from the transactional outbox to the Pub/Sub dispatch topic.

Every move of a task to `queued` commits an outbox record with it (services.task_transitions);
the record's creation triggers `publish_dispatch`, which publishes `{"taskId", "dispatchId",
"userId"}` on topics.TASK_DISPATCH and marks the record published in one transaction. A trigger
delivered again finds the mark and publishes nothing, so each dispatch is one message. (If the
process dies after the publish but before the mark commits, the redelivered trigger publishes
again; the runtime's claim — queued → in_progress, a no-op the second time — absorbs that.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aide.adapters.repositories.task_dispatches import TaskDispatchRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain import topics
from aide.domain.task_dispatch import DISPATCH_STALE_AFTER, TaskDispatchMessage
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.pubsub_publisher import MessagePublisher


def publish_dispatch(db: Client, publisher: MessagePublisher, dispatch_id: str) -> bool:
    """Publish the dispatch `dispatch_id` unless already published. True if this call did."""

    def apply(uow: UnitOfWork) -> bool:
        record = uow.task_dispatches.get(dispatch_id)
        if record is None or record.published:
            return False
        message = TaskDispatchMessage(
            task_id=record.task_id, dispatch_id=record.id, user_id=record.user_id
        )
        # Inside the transaction so that the mark and the message go together: publishing
        # after the commit could lose the message if the process died in between.
        message_id = publisher.publish(
            topics.TASK_DISPATCH,
            message.to_json_dict(),
            attributes={"taskId": record.task_id, "dispatchId": record.id},
        )
        uow.task_dispatches.update(
            dispatch_id, {"published": True, "publishedAt": utc_now(), "messageId": message_id}
        )
        return True

    return run_in_transaction(db, apply)


def republish_stale_dispatches(
    db: Client,
    publisher: MessagePublisher,
    *,
    older_than: timedelta = DISPATCH_STALE_AFTER,
    limit: int = 200,
    now: Callable[[], datetime] = utc_now,
) -> int:
    """Publish outbox records whose trigger delivery was lost (still unpublished `older_than`
    after creation), oldest first, at most `limit` per run. Returns how many were published."""
    stale = TaskDispatchRepository(db).unpublished_before(now() - older_than, limit=limit)
    return sum(publish_dispatch(db, publisher, dispatch_id) for dispatch_id in stale)
