from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_groups import TaskGroup


class TaskGroupRepository(Repository[TaskGroup]):
    collection_name: ClassVar[str] = collections.TASK_GROUPS
    model = TaskGroup
