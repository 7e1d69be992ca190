"""Admitting a dispatched task to run: claim it exactly once, within the user's and the agent's
limits.

`admit` is one transaction: it reads the task, its agent (the one it names, or the one chosen for
it by aide.domain.agents.choose_agent, recorded on the task at the claim or when it joins that
agent's waiting line), the user's and the agent's slot pools (domain.task_slots), the user and
the plans, then either claims the task (queued → in_progress, through services.task_transitions,
so the claim's event and group counters commit with it) and takes a slot in both pools, or
leaves it queued on the waiting list of the pool that is full, with a readable `log` event
saying which. A task that is not queued
any more (a duplicate or concurrent delivery, a cancelled task) is skipped without a write.

Agents: an `offline` agent is never chosen and never runs a task. A task naming an offline (or
missing) agent is claimed only to be failed at once with a readable error — nothing would ever
wake a task parked for an agent to come back, and a failed task is visible and retryable. An
agent's `status` is `busy` while its pool has running tasks and `idle` when it has none (written
in the claim and release transactions; `offline` is never overwritten).

`release` gives the slots back when a run ends (outside the transaction that ended it: a run that
lost its task) and, in the same transaction, offers each free slot to the oldest waiting task
still queued that holds no offer yet, re-dispatching it (services.run_slots; see
domain.task_slots for why offers hold their slot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.unit_of_work import CONTENDED_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain.agents import Agent, AgentStatus, choose_agent
from aide.domain.task_events import StreamEventKind, TaskEvent
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.task_slots import TaskSlots
from aide.domain.tasks import Task
from aide.domain.timestamps import utc_now
from aide.services import audit_trail
from aide.services.run_slots import (
    agent_status_change,
    plan_pool_release,
    plan_release,
    save_slots,
)
from aide.services.task_transitions import StatusChanges

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.domain.users import User

# Who the audit trail names for the status changes the runtime makes (claims, ends, dependents).
RUNTIME_ACTOR: Final = audit_trail.system_actor("agent_runtime")


class AdmissionOutcome(StrEnum):
    CLAIMED = "claimed"
    WAITING = "waiting"
    """No free slot: the task stays queued and is re-dispatched when one frees."""
    SKIPPED = "skipped"
    """Not queued (already claimed by another delivery, cancelled, …) or gone: do nothing."""


@dataclass(frozen=True)
class Admission:
    outcome: AdmissionOutcome
    task: Task | None
    quota_refusal: str | None = None
    """Set on a claim whose user has no task minutes left: the run must fail at once."""
    agent_refusal: str | None = None
    """Set on a claim whose agent is missing or offline: the run must fail at once."""

    @property
    def refusal(self) -> str | None:
        return self.quota_refusal or self.agent_refusal


def _reclaim_dead_slots(uow: UnitOfWork, slots: TaskSlots, task_id: str, limit: int) -> TaskSlots:
    """Self-healing at the limit: a slot whose run ended without releasing it (its worker died
    after a cancel), or offered to a task that is no longer queued, is reclaimed here, where it
    matters."""
    if slots.has_free_slot(task_id, limit):
        return slots
    offered = [item for item in slots.offered if item != task_id]
    holders = {t.id: t for t in uow.tasks.get_many([*slots.running, *offered])}
    dead = {
        item
        for item in slots.running
        if item not in holders or holders[item].status is not TaskStatus.IN_PROGRESS
    } | {
        item
        for item in offered
        if item not in holders or holders[item].status is not TaskStatus.QUEUED
    }
    return slots.without(dead)


def task_minutes_refusal(user: User | None, now: datetime) -> str | None:
    """Why the user may not start a task now (task-minute quota spent), or None.

    The quota feature keeps `quotas.taskMinutes` current and charges real execution time; a
    counter whose reset time has passed counts as renewed until the reset job rewrites it.
    """
    if user is None:
        return None
    quota = user.quotas.task_minutes
    if quota.reset is not None and quota.reset <= now:
        return None
    if quota.used < quota.limit:
        return None
    reset = f"; it resets at {quota.reset.isoformat()}" if quota.reset is not None else ""
    return f"Quota exceeded: task minutes ({quota.used:g} of {quota.limit} used this period{reset})"


def _agent_for(uow: UnitOfWork, task: Task) -> tuple[Agent | None, str | None]:
    """The task's agent, read in the transaction, or why it has none that may run it."""
    if task.agent_id:
        agent = uow.agents.get(task.agent_id)
        if agent is None:
            return None, f"agent '{task.agent_id}' does not exist"
        if agent.status is AgentStatus.OFFLINE:
            return None, f"agent '{agent.id}' is offline"
        return agent, None
    # The registry is read outside the transaction (it is small and rarely changes); the chosen
    # agent itself is then read inside it, so its status and pool are consistent with the claim.
    chosen = choose_agent(AgentRepository(uow.db).find(), task.title, task.description)
    agent = uow.agents.get(chosen.id) if chosen is not None else None
    if agent is None or agent.status is AgentStatus.OFFLINE:
        return None, "no agent is available for this task (every agent is offline)"
    return agent, None


def _add_waiting_event(
    uow: UnitOfWork, task: Task, now: datetime, message: str, data: dict[str, object]
) -> None:
    """The readable reason a task stays queued, in its event stream."""
    event = TaskEvent(
        id=uow.tasks.new_event_id(task.id),
        task_id=task.id,
        kind=StreamEventKind.LOG,
        message=message,
        timestamp=now,
        data={"waiting": True, **data},
    )
    uow.tasks.add_event(event)


def admit(db: Client, task_id: str, *, now: Callable[[], datetime] = utc_now) -> Admission:
    def apply(uow: UnitOfWork) -> Admission:
        changes = StatusChanges(uow, clock=now, actor=RUNTIME_ACTOR)
        found = changes.load([task_id])
        if not found or found[0].status is not TaskStatus.QUEUED:
            return Admission(AdmissionOutcome.SKIPPED, found[0] if found else None)
        task = found[0]
        # Every read first (Firestore transactions read before they write).
        agent, agent_refusal = _agent_for(uow, task)
        if agent is None:
            # Claimed without a slot only to be failed by the run, with this readable error.
            changes.plan(task, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, message="claimed")
            changes.write()
            return Admission(
                AdmissionOutcome.CLAIMED, changes.after(task.id), agent_refusal=agent_refusal
            )
        slots = uow.task_slots.user_pool(task.user_id)
        user = uow.users.get(task.user_id)
        plans = uow.plans.load()
        plan = plans.plan(user.subscription.plan if user is not None else str(plans.default_plan))
        slots = _reclaim_dead_slots(
            uow, slots.with_limit(plan.concurrent_tasks), task.id, plan.concurrent_tasks
        )
        agent_slots = uow.task_slots.agent_pool(agent.id)
        limit = agent.limits.concurrency
        agent_slots = _reclaim_dead_slots(uow, agent_slots.with_limit(limit), task.id, limit)

        user_full = not slots.has_free_slot(task.id, plan.concurrent_tasks)
        if user_full or not agent_slots.has_free_slot(task.id, limit):
            # It waits in the pool that is full. If it also waited in the other one, which has
            # room, it leaves that line and hands its turn to the next task there: a task
            # waiting for one pool never holds up the other's.
            full, other = (slots, agent_slots) if user_full else (agent_slots, slots)
            handoffs: list[Task] = []
            if task.id in other.waiting:
                freed = 1 if task.id in other.offered else 0
                other, handoffs = plan_pool_release(uow, other.without([task.id]), freed)
                save_slots(uow, other, changes.now)
                for handoff in handoffs:
                    uow.task_dispatches.record(handoff, uow.tasks.new_id(), changes.now)
            if task.id not in full.waiting or task.id in full.offered:
                # An offer it cannot take (the limit went down meanwhile) goes back in line.
                save_slots(uow, full.with_waiting(task.id), changes.now)
            if not user_full and task.agent_id != agent.id:
                # In an agent's line, the task names that agent: whoever ends the task (a
                # cancel) finds the line to take it out of (services.run_slots).
                uow.tasks.update(task.id, {"agentId": agent.id, "updatedAt": changes.now})
            if task.id not in full.waiting:
                if user_full:
                    message = (
                        f"waiting for a free run slot ({slots.held_by_others(task.id)} of "
                        f"{plan.concurrent_tasks} in use)"
                    )
                    data: dict[str, object] = {"concurrentTasks": plan.concurrent_tasks}
                else:
                    message = (
                        f"waiting for agent '{agent.id}' "
                        f"({agent_slots.held_by_others(task.id)} of its {limit} concurrent runs "
                        "in use)"
                    )
                    data = {"agentId": agent.id, "agentConcurrency": limit}
                _add_waiting_event(uow, task, changes.now, message, data)
            return Admission(AdmissionOutcome.WAITING, task)

        # The chosen agent is recorded with the claim, so that its release finds its pool.
        fields = {"agentId": agent.id} if task.agent_id != agent.id else None
        changes.plan(
            task, TaskStatus.IN_PROGRESS, TransitionReason.CLAIM, message="claimed", fields=fields
        )
        changes.write()
        save_slots(uow, slots.with_running(task.id), changes.now)
        agent_slots = agent_slots.with_running(task.id)
        save_slots(uow, agent_slots, changes.now)
        status = agent_status_change(agent, agent_slots.running, changes.now)
        if status is not None:
            uow.agents.update(agent.id, status)
        return Admission(
            AdmissionOutcome.CLAIMED,
            changes.after(task.id),
            quota_refusal=task_minutes_refusal(user, changes.now),
        )

    return run_in_transaction(db, apply, max_attempts=CONTENDED_ATTEMPTS)


def release(
    db: Client, user_id: str, task_ids: list[str], *, now: Callable[[], datetime] = utc_now
) -> list[str]:
    """Free the slots of `task_ids` whose runs ended (in their user's pool and their agents')
    and re-dispatch the oldest waiting tasks still queued of each, one per free slot. Returns
    the ids re-dispatched. Safe to repeat (a repeat frees nothing and offers no slot twice); a
    task in progress is left alone (claimed again by another attempt)."""

    def apply(uow: UnitOfWork) -> list[str]:
        # Only runs that really ended: a task claimed again meanwhile (swept and re-run) holds
        # its slots for the new attempt.
        ended = [t for t in uow.tasks.get_many(task_ids) if t.status is not TaskStatus.IN_PROGRESS]
        return plan_release(uow, user_id, ended)(now())

    return run_in_transaction(db, apply, max_attempts=CONTENDED_ATTEMPTS)
