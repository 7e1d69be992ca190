from typing import Any, ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_groups import TaskGroup


class TaskGroupRepository(Repository[TaskGroup]):
    collection_name: ClassVar[str] = collections.TASK_GROUPS
    model = TaskGroup

    def list_page(
        self, filters: dict[str, str], *, limit: int, after: tuple[Any, str] | None = None
    ) -> list[TaskGroup]:
        """Up to `limit` groups matching every equality filter, newest first, after `after`.
        Each filter field has a (field, createdAt desc) index; Firestore merges them."""
        conditions = [(field, "==", value) for field, value in filters.items()]
        return self.newest_page(conditions, limit=limit, after=after)
