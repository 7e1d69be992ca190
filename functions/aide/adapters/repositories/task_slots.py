from __future__ import annotations

from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_slots import TaskSlots, agent_slots_id


class TaskSlotsRepository(Repository[TaskSlots]):
    """task_slots/{user id} (a user's pool) and task_slots/agent:{agent id} (an agent's)."""

    collection_name: ClassVar[str] = collections.TASK_SLOTS
    model = TaskSlots

    def id_of(self, item: TaskSlots) -> str:
        return item.document_id

    def user_pool(self, user_id: str) -> TaskSlots:
        return self.get(user_id) or TaskSlots(user_id=user_id)

    def agent_pool(self, agent_id: str) -> TaskSlots:
        found = self.get(agent_slots_id(agent_id))
        if found is None:
            return TaskSlots(agent_id=agent_id)
        return found.model_copy(update={"agent_id": agent_id, "user_id": ""})
