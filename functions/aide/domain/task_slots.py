"""task_slots/{id}: which tasks hold a run slot of a pool, and which wait for one.

Two kinds of pool share this shape and its rules: a user's (document id = the user id; its limit
is the plan's `concurrentTasks`) and an agent's (document id `agent:{agentId}`; its limit is the
agent's `limits.concurrency`). A run holds one slot of its user's pool and one of its agent's.
Each limit is enforced against its one document inside the claim transaction, so concurrent
claims serialise on it and never admit more runs than the limit. A task that finds no free slot
stays `queued` and joins the `waiting` list of the pool that is full (oldest first); the run
that frees a slot re-dispatches the oldest waiting task still queued, so nothing polls and no
waiting task is forgotten.

A re-dispatched task is `offered` a slot until its claim: the offer holds that slot for it (a
new task does not take it meanwhile), and the next release offers the next free slot to the
next waiting task, never to one already offered. So with k slots and k tasks waiting, releases
close together call k different tasks and no slot stays empty. An offer whose task is no longer
queued (cancelled before its claim) is reclaimed at the limit like a dead run's slot.
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
    offered: list[str] = Field(default_factory=list)
    """Waiting tasks re-dispatched to take a free slot and not claimed yet (also in `waiting`)."""
    limit: int | None = None
    """The pool's limit as of the last admission (how a release knows how many slots are free)."""
    updated_at: UtcDateTime = Field(default_factory=utc_now)

    @property
    def document_id(self) -> str:
        return agent_slots_id(self.agent_id) if self.agent_id is not None else self.user_id

    def held_by_others(self, task_id: str) -> int:
        """Slots taken by runs and by offers to tasks other than `task_id`."""
        return len(self.running) + sum(1 for item in self.offered if item != task_id)

    def has_free_slot(self, task_id: str, limit: int) -> bool:
        return task_id in self.running or self.held_by_others(task_id) < limit

    def free_slots(self, freed: int) -> int:
        """Slots a release may offer: all the free ones when the limit is known, else as many
        as the release freed."""
        if self.limit is None:
            return freed
        return max(self.limit - len(self.running) - len(self.offered), 0)

    def with_limit(self, limit: int) -> TaskSlots:
        return self if self.limit == limit else self.model_copy(update={"limit": limit})

    def with_running(self, task_id: str) -> TaskSlots:
        running = self.running if task_id in self.running else [*self.running, task_id]
        return self.without([task_id]).model_copy(update={"running": running})

    def with_waiting(self, task_id: str) -> TaskSlots:
        """`task_id` in line (keeping its place), holding no offer."""
        offered = [item for item in self.offered if item != task_id]
        waiting = self.waiting if task_id in self.waiting else [*self.waiting, task_id]
        return self.model_copy(update={"waiting": waiting, "offered": offered})

    def with_offered(self, task_ids: list[str]) -> TaskSlots:
        fresh = [item for item in task_ids if item not in self.offered]
        return self.model_copy(update={"offered": [*self.offered, *fresh]})

    def without(self, task_ids: list[str] | set[str]) -> TaskSlots:
        gone = set(task_ids)
        return self.model_copy(
            update={
                "running": [item for item in self.running if item not in gone],
                "waiting": [item for item in self.waiting if item not in gone],
                "offered": [item for item in self.offered if item not in gone],
            }
        )
