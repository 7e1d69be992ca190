"""Giving run slots back: the release of a pool's slots and the offer of each free one to the
oldest waiting task still queued (the rules of the pools are in aide.domain.task_slots).

A slot is given back when the task holding it — by a run, by an offer, or by its place in a
waiting line — stops needing it: its run ended (services.run_endings, the stale-task sweeper),
or it left the queue without running (cancelled or failed while queued:
services.task_transitions). Every release is planned inside the unit of work that ends the
task, so a slot is never freed without the change that frees it, and each free slot is offered
in the same commit (a fresh outbox record re-dispatches the task it is offered to). A task that
left the queue also leaves the waiting lines: otherwise an offer made to it would hold its slot
with nobody to take it, and the tasks behind it would wait until some unrelated admission
reclaimed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from aide.adapters.unit_of_work import UnitOfWork
from aide.domain.agents import Agent, AgentStatus
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.task_slots import TaskSlots
from aide.domain.tasks import Task

# Waiting tasks looked at when a slot frees; ones cancelled meanwhile are dropped on the way.
_WAITING_LOOKAHEAD: Final = 10

WriteRelease = Callable[[datetime], list[str]]


def agent_status_change(
    agent: Agent, running: list[str], now: datetime
) -> dict[str, object] | None:
    """The agent's new status when its running set makes it change (offline stays offline)."""
    if agent.status is AgentStatus.OFFLINE:
        return None
    wanted = AgentStatus.BUSY if running else AgentStatus.IDLE
    if agent.status is wanted:
        return None
    return {"status": str(wanted), "updatedAt": now}


def save_slots(uow: UnitOfWork, slots: TaskSlots, now: datetime) -> None:
    uow.task_slots.save(slots.model_copy(update={"updated_at": now}))


def plan_pool_release(
    uow: UnitOfWork, slots: TaskSlots, freed: int
) -> tuple[TaskSlots, list[Task]]:
    """Reads for freeing a pool's slots (already removed from `slots`; `freed` of them held by
    runs): the pool as it will be saved, and the oldest waiting tasks still queued and not yet
    offered a slot, one per free slot, to re-dispatch (each now holds an offer)."""
    wanted = slots.free_slots(freed)
    if wanted <= 0:
        return slots, []
    head = [item for item in slots.waiting if item not in slots.offered][:_WAITING_LOOKAHEAD]
    still_queued = {
        task.id: task for task in uow.tasks.get_many(head) if task.status is TaskStatus.QUEUED
    }
    # Waiting entries that are no longer queued (cancelled, claimed by a redelivery) go.
    slots = slots.without(set(head) - set(still_queued))
    chosen = [task_id for task_id in head if task_id in still_queued][:wanted]
    return slots.with_offered(chosen), [still_queued[task_id] for task_id in chosen]


def plan_release(uow: UnitOfWork, user_id: str, tasks: Iterable[Task]) -> WriteRelease:
    """The reads of releasing everything `tasks` (all of `user_id`, as read in this unit of
    work) hold or wait for; returns the function that writes it (call it after every other read
    of the unit). The writer returns the ids of the waiting tasks it re-dispatched (from the
    user's pool and the released agents' pools)."""
    ended = {task.id: task for task in tasks}
    task_ids = list(ended)
    pool = uow.task_slots.user_pool(user_id)
    freed = len(set(task_ids) & set(pool.running))
    slots, user_next = plan_pool_release(uow, pool.without(task_ids), freed)
    agent_ids = sorted({t.agent_id for t in ended.values() if t.agent_id})
    agent_pools: list[tuple[Agent | None, TaskSlots, list[Task]]] = []
    for agent_id in agent_ids:
        agent_pool = uow.task_slots.agent_pool(agent_id)
        if not set(task_ids) & (set(agent_pool.running) | set(agent_pool.waiting)):
            continue  # nothing of this release is in that pool (claimed before it existed)
        agent = uow.agents.get(agent_id)
        if agent is not None:
            agent_pool = agent_pool.with_limit(agent.limits.concurrency)
        agent_freed = len(set(task_ids) & set(agent_pool.running))
        released, agent_next = plan_pool_release(uow, agent_pool.without(task_ids), agent_freed)
        agent_pools.append((agent, released, agent_next))

    def write(now: datetime) -> list[str]:
        dispatched: list[str] = []

        def dispatch(next_tasks: list[Task]) -> None:
            for task in next_tasks:
                if task.id not in dispatched:
                    uow.task_dispatches.record(task, uow.tasks.new_id(), now)
                    dispatched.append(task.id)

        if slots != pool:  # a queued task cancelled before it ever waited changes nothing
            save_slots(uow, slots, now)
        # Each stays in `waiting`, holding its offer, until its claim.
        dispatch(user_next)
        for agent, released, agent_next in agent_pools:
            save_slots(uow, released, now)
            dispatch(agent_next)
            status = agent_status_change(agent, released.running, now) if agent else None
            if agent is not None and status is not None:
                uow.agents.update(agent.id, status)
        return dispatched

    return write
