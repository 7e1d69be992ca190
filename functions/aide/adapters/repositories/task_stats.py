"""Count aggregations over tasks (one billed read per 1,000 counted, no document fetched)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Collection
from aide.domain import collections
from aide.domain.task_lifecycle import TaskStatus


class TaskStatsRepository(Collection):
    collection_name: ClassVar[str] = collections.TASKS

    def count(self, user_id: str, status: TaskStatus) -> int:
        query = self.collection.where(filter=FieldFilter("userId", "==", user_id)).where(
            filter=FieldFilter("status", "==", status.value)
        )
        return _count(query)

    def count_finished_since(self, user_id: str, status: TaskStatus, since: datetime) -> int:
        """Tasks of the user that reached `status` (completed or failed) at or after `since`."""
        field = "completedAt" if status is TaskStatus.COMPLETED else "failedAt"
        query = (
            self.collection.where(filter=FieldFilter("userId", "==", user_id))
            .where(filter=FieldFilter("status", "==", status.value))
            .where(filter=FieldFilter(field, ">=", since))
        )
        return _count(query)


def _count(query: object) -> int:
    results = query.count(alias="n").get()  # type: ignore[attr-defined]
    return int(results[0][0].value)
