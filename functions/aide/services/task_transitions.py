"""Task status changes: each change, with what it implies for other tasks and for the task's
group, is planned and written in one unit of work (aide.adapters.unit_of_work).

In the same commit as the change itself:
- every task that changes status gets its timestamp field stamped, the fields of an abandoned
  attempt cleared, and one event appended to `tasks/{id}/events`;
- a move to `queued` writes its outbox record (`task_dispatches/{eventId}`), published by the
  dispatch trigger (services.task_dispatch) — so no dispatch is lost between commit and publish;
- a completion decrements `unmetDependencies` of each pending dependent and dispatches those that
  reach zero. The counter lives on the dependent, which the transaction reads, so two
  dependencies completing at the same moment serialise on it and the dependent is dispatched by
  exactly one of them; a repeated completion is a no-op transition and touches nothing;
- a failure or cancellation cancels the unfinished dependents (and, for a cancellation, the
  subtasks), transitively, each with the reason recorded (task_graph.cancellation_cascade);
- the counters, status and progress of each affected group (task_graph.GroupCounts);
- for a queued task that is cancelled, its place in the run-slot waiting lines and any slot it
  was offered, given to the next task in line (services.run_slots);
- the audit stamp (`lastChangedBy`) of the unit's actor — the request's caller, or the system
  component that made the change — on every task and group it writes, and the audit entry of
  each status change, written in this same unit (services.audit_trail.audited_stamp).

Work is proportional to the tasks changed and their own dependents, never to the group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.unit_of_work import CONTENDED_ATTEMPTS, UnitOfWork, run_in_transaction
from aide.domain import collections
from aide.domain.document_ids import is_usable_id
from aide.domain.task_events import StreamEventKind, TaskEvent
from aide.domain.task_graph import GroupCounts, GroupStatus, cancellation_cascade
from aide.domain.task_groups import TaskGroup
from aide.domain.task_lifecycle import (
    TaskStatus,
    Transition,
    TransitionReason,
    transition,
)
from aide.domain.tasks import Task
from aide.domain.timestamps import utc_now
from aide.services import audit_trail
from aide.services.run_slots import WriteRelease, plan_release

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.domain.audit_trail import ChangeActor

_TERMINAL_GROUP_STATUSES: Final = frozenset(
    {GroupStatus.COMPLETED, GroupStatus.FAILED, GroupStatus.CANCELLED}
)


class TaskNotFound(LookupError):
    """No such task, or not one the caller may touch (the API never says which: 404)."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"task '{task_id}' not found")


class GroupCountsDrift(RuntimeError):
    """A group's counters disagree with the statuses of its tasks. A transaction reads one
    consistent snapshot, so this is never a race: the counters really are wrong (a bug)."""


@dataclass(frozen=True)
class TaskChange:
    """One status change made by a unit of work."""

    task_id: str
    transition: Transition
    message: str
    event_id: str


@dataclass
class _Planned:
    task: Task
    """As read."""
    after: Task
    """As the commit leaves it (the transition applied, then the change's own fields)."""
    transition: Transition
    message: str
    caused_by: str | None = None


@dataclass(frozen=True)
class ChangeResult:
    task: Task | None
    """The root task as it is after the commit (None for a group-wide change)."""
    changes: tuple[TaskChange, ...]
    """Every status change committed, the root's first; empty for a no-op."""

    @property
    def is_noop(self) -> bool:
        return not self.changes

    @property
    def dispatched(self) -> tuple[str, ...]:
        return tuple(c.task_id for c in self.changes if c.transition.to_status is TaskStatus.QUEUED)

    @property
    def cancelled(self) -> tuple[str, ...]:
        return tuple(
            c.task_id for c in self.changes if c.transition.to_status is TaskStatus.CANCELLED
        )


def with_fields(task: Task, fields: Mapping[str, Any]) -> Task:
    """`task` with the given document fields (camelCase) set."""
    if not fields:
        return task
    return Task.from_document({**task.to_document(), **fields})


@dataclass
class StatusChanges:
    """Plans status changes within one unit of work (reads first), then writes them all."""

    uow: UnitOfWork
    clock: Callable[[], datetime] = utc_now
    actor: ChangeActor | None = None
    """Who the changes are audited as; None: the request's caller (or the anonymous system)."""
    loaded: dict[str, Task] = field(default_factory=dict)
    planned: dict[str, _Planned] = field(default_factory=dict)
    counter_updates: dict[str, int] = field(default_factory=dict)
    _now: datetime | None = None

    @property
    def now(self) -> datetime:
        """The time of the changes: read from the clock once, on first use — after the reads
        that lock the tasks changed (a transaction reads before it plans). So a change made
        after another on the same task is also stamped after it, however long this unit waited
        for the other's lock: events and audit entries sort in commit order, and a reader
        resuming from a timestamp never misses a change committed later."""
        if self._now is None:
            self._now = self.clock()
        return self._now

    # Reads ----------------------------------------------------------------------------------

    def load(self, task_ids: Iterable[str]) -> list[Task]:
        """The tasks (those that exist), read through the transaction once each."""
        ids = list(dict.fromkeys(task_ids))
        missing = [task_id for task_id in ids if task_id not in self.loaded]
        for task in self.uow.tasks.get_many(missing):
            self.loaded[task.id] = task
        return [self.loaded[task_id] for task_id in ids if task_id in self.loaded]

    def current_status(self, task_id: str) -> TaskStatus | None:
        planned = self.planned.get(task_id)
        if planned is not None:
            return planned.transition.to_status
        task = self.loaded.get(task_id)
        return None if task is None else task.status

    def after(self, task_id: str) -> Task:
        """The task as the commit will leave it (planned or not; it must have been loaded)."""
        planned = self.planned.get(task_id)
        return planned.after if planned is not None else self.loaded[task_id]

    # Planning -------------------------------------------------------------------------------

    def plan(
        self,
        task: Task,
        target: TaskStatus,
        reason: TransitionReason,
        *,
        message: str = "",
        fields: Mapping[str, Any] | None = None,
        caused_by: str | None = None,
    ) -> Transition:
        """Decide one change (raises IllegalTransition); a no-op plans nothing."""
        self.loaded.setdefault(task.id, task)
        change = transition(task.status, target, reason=reason)
        if not change.is_noop:
            after = with_fields(change.apply_to(task, self.now), fields or {})
            self.planned[task.id] = _Planned(task, after, change, message, caused_by)
        return change

    def follow_up(self, task_id: str) -> None:
        """Plan what the planned change of `task_id` implies for its dependents and subtasks."""
        planned = self.planned[task_id]
        target = planned.transition.to_status
        if target is TaskStatus.COMPLETED:
            self._release_dependents(planned.task)
        elif target in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            self._cascade(planned.task, target)

    def _release_dependents(self, task: Task) -> None:
        for dependent in self.load(task.dependents):
            if dependent.status is not TaskStatus.PENDING or dependent.id in self.planned:
                continue
            remaining = self.counter_updates.get(dependent.id, dependent.unmet_dependencies) - 1
            if remaining > 0:
                self.counter_updates[dependent.id] = remaining
                continue
            self.counter_updates.pop(dependent.id, None)
            self.plan(
                dependent,
                TaskStatus.QUEUED,
                TransitionReason.DISPATCH,
                message="all dependencies completed",
                fields={"unmetDependencies": 0},
                caused_by=task.id,
            )

    def _cascade(self, root: Task, root_status: TaskStatus) -> None:
        include_subtasks = root_status is TaskStatus.CANCELLED

        def dependents_of(task_id: str) -> list[str]:
            ids = list(self.loaded[task_id].dependents)
            self.load(ids)
            return ids

        def subtasks_of(task_id: str) -> list[str]:
            ids = list(self.loaded[task_id].subtask_ids)
            self.load(ids)
            return ids

        cascade = cancellation_cascade(
            root.id,
            root_status=root_status,
            dependents_of=dependents_of,
            status_of=self.current_status,
            subtasks_of=subtasks_of if include_subtasks else None,
        )
        # A failure's cascade names its root on each task, so that retrying the root revives
        # exactly these (and not what a user cancelled).
        failure = {"cancelledByFailureOf": root.id} if root_status is TaskStatus.FAILED else {}
        for item in cascade:
            task = self.loaded[item.task_id]
            if item.task_id in self.planned:
                continue
            self.plan(
                task,
                TaskStatus.CANCELLED,
                item.reason,
                message=item.message,
                fields={"cancelReason": item.message, **failure},
                caused_by=item.caused_by,
            )

    def revive_dependents(self, root: Task) -> None:
        """Plan pending again the tasks the failure of `root` (being retried) cancelled, and
        only those: its dependents, transitively, whose `cancelledByFailureOf` names it. One
        that also depends on a task that failed or was cancelled for another reason stays
        cancelled (it still could not run), and so do the revived set's tasks behind it."""
        found: dict[str, Task] = {}
        frontier = [root.id]
        while frontier:
            ids = [d for t in frontier for d in self.loaded[t].dependents if d not in found]
            frontier = []
            for dependent in self.load(ids):
                if (
                    dependent.status is TaskStatus.CANCELLED
                    and dependent.cancelled_by_failure_of == root.id
                    and dependent.id not in found
                ):
                    found[dependent.id] = dependent
                    frontier.append(dependent.id)
        self.load(d for task in found.values() for d in task.dependencies)
        revivable = dict(found)
        changed = True
        while changed:  # drop the blocked ones until what is left can all run
            changed = False
            for task_id, task in list(revivable.items()):
                if any(
                    dependency not in revivable
                    and self.current_status(dependency)
                    in (TaskStatus.FAILED, TaskStatus.CANCELLED, None)
                    for dependency in task.dependencies
                ):
                    del revivable[task_id]
                    changed = True
        for task in revivable.values():
            unmet = sum(
                1
                for dependency in task.dependencies
                if dependency in revivable
                or self.current_status(dependency) is not TaskStatus.COMPLETED
            )
            self.plan(
                task,
                TaskStatus.PENDING,
                TransitionReason.DEPENDENCY_RETRIED,
                message=f"dependency '{root.id}' retried",
                fields={"unmetDependencies": unmet},
                caused_by=root.id,
            )

    # Writes ---------------------------------------------------------------------------------

    def write(self) -> tuple[TaskChange, ...]:
        """Read the affected groups, then write every planned change (reads precede writes)."""
        groups = self._load_groups()
        releases = self._plan_queue_exits()
        changes: list[TaskChange] = []
        for planned in self.planned.values():
            changes.append(self._write_change(planned))
            group_id = planned.task.group_id
            if group_id in groups:
                group, counts = groups[group_id]
                old, new = planned.transition.from_status, planned.transition.to_status
                try:
                    groups[group_id] = (group, counts.apply(old, new))
                except ValueError as error:
                    raise GroupCountsDrift(
                        f"group {group_id} counts no task {old} to move to {new}"
                    ) from error
        for task_id, remaining in self.counter_updates.items():
            self.uow.tasks.update(
                task_id, {"unmetDependencies": max(remaining, 0), "updatedAt": self.now}
            )
        for group, counts in groups.values():
            write_group_counts(self.uow, group, counts, self.now, actor=self.actor)
        for write_release in releases:
            write_release(self.now)
        return tuple(changes)

    def _plan_queue_exits(self) -> list[WriteRelease]:
        """Reads for giving back what queued tasks that end without running (cancelled) hold
        in the run-slot pools: a place in a waiting line, or an offer of a slot, which goes to
        the next task in line (services.run_slots). A run that ends releases its own slots
        (services.run_endings); its cascade never ends a queued task, so no pool is planned
        twice in one unit."""
        leaving: dict[str, list[Task]] = {}
        for planned in self.planned.values():
            if planned.transition.from_status is TaskStatus.QUEUED and (
                planned.transition.to_status in (TaskStatus.CANCELLED, TaskStatus.FAILED)
            ):
                leaving.setdefault(planned.task.user_id, []).append(planned.task)
        return [plan_release(self.uow, user_id, tasks) for user_id, tasks in leaving.items()]

    def _load_groups(self) -> dict[str, tuple[TaskGroup, GroupCounts]]:
        group_ids = sorted({p.task.group_id for p in self.planned.values() if p.task.group_id})
        found = self.uow.task_groups.get_many(group_ids)
        return {group.id: (group, group.counts) for group in found}

    def _write_change(self, planned: _Planned) -> TaskChange:
        task, change = planned.task, planned.transition
        tasks = self.uow.tasks
        event_id = tasks.new_event_id(task.id)
        stamp = audit_trail.audited_stamp(
            self.uow,
            collections.TASKS,
            task.id,
            task.to_document(),
            planned.after.to_document(),
            actor=self.actor,
            at=self.now,
        )
        tasks.update_changes(task, planned.after, extra=stamp)
        data: dict[str, Any] = {"reason": change.reason.value}
        if planned.caused_by:
            data["causedBy"] = planned.caused_by
        assert change.event_kind is not None  # planned changes are never no-ops
        tasks.add_event(
            TaskEvent(
                id=event_id,
                task_id=task.id,
                kind=StreamEventKind(change.event_kind.value),
                message=planned.message or f"{change.from_status} → {change.to_status}",
                timestamp=self.now,
                from_status=change.from_status,
                to_status=change.to_status,
                data=data,
            )
        )
        if change.to_status is TaskStatus.QUEUED:
            self.uow.task_dispatches.record(task, event_id, self.now)
        return TaskChange(task.id, change, planned.message, event_id)


def write_group_counts(
    uow: UnitOfWork,
    group: TaskGroup,
    counts: GroupCounts,
    now: datetime,
    *,
    actor: ChangeActor | None = None,
) -> TaskGroup:
    """Counters, status and progress of `group` as `counts` says (one document write, audited
    as `actor`'s change when its status changes)."""
    status = counts.status()
    updated = group.model_copy(
        update={
            "counts": counts,
            "status": status,
            "progress": counts.progress(),
            "updated_at": now,
            "completed_at": now if status in _TERMINAL_GROUP_STATUSES else None,
        }
    )
    document = updated.to_document()
    fields: dict[str, Any] = {
        key: document[key] for key in ("counts", "status", "progress", "updatedAt")
    }
    if updated.completed_at is not None and group.completed_at is None:
        fields["completedAt"] = updated.completed_at
    elif updated.completed_at is None and group.completed_at is not None:
        fields["completedAt"] = None  # revived by a retry: running again
    fields.update(
        audit_trail.audited_stamp(
            uow,
            collections.TASK_GROUPS,
            group.id,
            group.to_document(),
            document,
            actor=actor,
            at=now,
        )
    )
    uow.task_groups.update(group.id, fields)
    return updated


def apply_status_changes(
    db: Client,
    plan: Callable[[StatusChanges], Task | None],
    *,
    now: Callable[[], datetime] = utc_now,
    actor: ChangeActor | None = None,
) -> ChangeResult:
    """Run `plan` (reads and planning) and write what it planned, in one unit of work that is
    retried on contention. Returns the root task after the change and every change made."""

    def apply(uow: UnitOfWork) -> ChangeResult:
        changes = StatusChanges(uow, clock=now, actor=actor)
        root = plan(changes)
        written = changes.write()
        if root is not None and root.id in changes.planned:
            root = changes.planned[root.id].after
        return ChangeResult(task=root, changes=written)

    return run_in_transaction(db, apply, max_attempts=CONTENDED_ATTEMPTS)


def change_status(
    db: Client,
    task_id: str,
    target: TaskStatus,
    reason: TransitionReason,
    *,
    owner_id: str | None = None,
    message: str = "",
    fields: Mapping[str, Any] | None = None,
    now: Callable[[], datetime] = utc_now,
    actor: ChangeActor | None = None,
) -> ChangeResult:
    """Move one task to `target` for `reason`, with every follow-up, atomically.

    `owner_id`: when given, a task of another user is reported as not found. A repeated move is
    a no-op (result `is_noop`, nothing written); an illegal one raises IllegalTransition.
    """

    # Task ids also arrive in Pub/Sub messages, which no router has checked.
    if not is_usable_id(task_id):
        raise TaskNotFound(task_id)

    def plan(changes: StatusChanges) -> Task:
        found = changes.load([task_id])
        if not found or (owner_id is not None and found[0].user_id != owner_id):
            raise TaskNotFound(task_id)
        task = found[0]
        change = changes.plan(task, target, reason, message=message, fields=fields)
        if not change.is_noop:
            changes.follow_up(task.id)
        return task

    return apply_status_changes(db, plan, now=now, actor=actor)
