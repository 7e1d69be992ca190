"""task_slots/{id}: which tasks hold a run slot of a pool, and which wait for one.

Two kinds of pool share this shape and its rules: a user's (document id = the user id; its limit
is the plan's `concurrentTasks`) and an agent's (document id `agent:{agentId}`; its limit is the
agent's `limits.concurrency`). A run holds one slot of its user's pool and one of its agent's.
Each limit is enforced against its one document inside the claim transaction, so concurrent
claims serialise on it and never admit more runs than the limit. A task that finds no free slot
stays `queued` and joins the `waiting` list of the pool that is full (oldest first); the run
that frees a slot re-dispatches the oldest waiting task still queued, so nothing polls and no
waiting task is forgotten.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now

AGENT_POOL_PREFIX: Final = "agent:"


def agent_slots_id(agent_id: str) -> str:
    return f"{AGENT_POOL_PREFIX}{agent_id}"


class TaskSlots(DocumentModel):
    user_id: str = ""
    """The user whose pool this is (empty for an agent's pool)."""
    agent_id: str | None = None
    """The agent whose pool this is (None for a user's pool)."""
    running: list[str] = Field(default_factory=list)
    waiting: list[str] = Field(default_factory=list)
    updated_at: UtcDateTime = Field(default_factory=utc_now)

    @property
    def document_id(self) -> str:
        return agent_slots_id(self.agent_id) if self.agent_id is not None else self.user_id

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
