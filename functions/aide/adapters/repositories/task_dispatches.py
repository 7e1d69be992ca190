from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_dispatch import DISPATCH_RECORD_TTL, TaskDispatch
from aide.domain.tasks import Task


class TaskDispatchRepository(Repository[TaskDispatch]):
    collection_name: ClassVar[str] = collections.TASK_DISPATCHES
    model = TaskDispatch

    def record(self, task: Task, dispatch_id: str, now: datetime) -> None:
        """The outbox record of one dispatch of `task` (its creation triggers the publish)."""
        self.create(
            TaskDispatch(
                id=dispatch_id,
                task_id=task.id,
                user_id=task.user_id,
                created_at=now,
                expires_at=now + DISPATCH_RECORD_TTL,
            )
        )

    def unpublished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Ids of outbox records still unpublished that were created before `cutoff`, oldest
        first."""
        query = (
            self.collection.where(filter=FieldFilter("published", "==", False))
            .where(filter=FieldFilter("createdAt", "<", cutoff))
            .order_by("createdAt")
            .limit(limit)
        )
        return [snapshot.id for snapshot in query.stream()]
