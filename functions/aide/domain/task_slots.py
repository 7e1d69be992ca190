"""task_slots/{userId}: which of a user's tasks hold a run slot, and which wait for one.

The per-user concurrency limit (the plan's `concurrentTasks`) is enforced against this one
document inside the claim transaction, so concurrent claims serialise on it and never admit more
runs than the limit. A task that finds no free slot stays `queued` and joins `waiting` (oldest
first); the run that frees a slot re-dispatches the oldest waiting task still queued, so nothing
polls and no waiting task is forgotten.
"""

from __future__ import annotations

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now


class TaskSlots(DocumentModel):
    user_id: str
    running: list[str] = Field(default_factory=list)
    waiting: list[str] = Field(default_factory=list)
    updated_at: UtcDateTime = Field(default_factory=utc_now)

    def has_free_slot(self, task_id: str, limit: int) -> bool:
        return task_id in self.running or len(self.running) < limit

    def with_running(self, task_id: str) -> TaskSlots:
        running = self.running if task_id in self.running else [*self.running, task_id]
        waiting = [item for item in self.waiting if item != task_id]
        return self.model_copy(update={"running": running, "waiting": waiting})

    def with_waiting(self, task_id: str) -> TaskSlots:
        if task_id in self.waiting:
            return self
        return self.model_copy(update={"waiting": [*self.waiting, task_id]})

    def without(self, task_ids: list[str] | set[str]) -> TaskSlots:
        gone = set(task_ids)
        return self.model_copy(
            update={
                "running": [item for item in self.running if item not in gone],
                "waiting": [item for item in self.waiting if item not in gone],
            }
        )
