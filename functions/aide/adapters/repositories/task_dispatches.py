from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_dispatch import TaskDispatch


class TaskDispatchRepository(Repository[TaskDispatch]):
    collection_name: ClassVar[str] = collections.TASK_DISPATCHES
    model = TaskDispatch
