"""Task groups as dependency graphs: validating a group before it is written, deciding at run time
when a task may start or must be cancelled because of its dependencies, and summarising a group's
status from per-status counters.

At creation, tasks name each other by client-local `ref`s; `validate_task_graph` checks the whole
group (nothing is written unless it passes) and returns its stable topological order, depth levels
and the refs that can be dispatched at once. At run time tasks are known by id and the helpers here
take only the part of the graph around one task, so completing or cancelling a task costs work in
proportion to its own dependents, never to the group.
"""

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol, Self

from aide.domain.task_lifecycle import (
    UNFINISHED_STATUSES,
    TaskStatus,
    TransitionReason,
)

MAX_GROUP_TASKS = 1000

# How many offenders an error message spells out; `details` always lists all of them.
_MESSAGE_LIMIT = 5


class TaskSpecLike(Protocol):
    """Anything with a `ref` and the refs it depends on (the API's task-group item model fits)."""

    @property
    def ref(self) -> str: ...

    @property
    def dependencies(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class TaskSpec:
    ref: str
    dependencies: tuple[str, ...] = ()


class TaskGraphErrorCode(StrEnum):
    EMPTY_GROUP = "EMPTY_GROUP"
    TOO_MANY_TASKS = "TOO_MANY_TASKS"
    DUPLICATE_REF = "DUPLICATE_REF"
    SELF_DEPENDENCY = "SELF_DEPENDENCY"
    UNKNOWN_REF = "UNKNOWN_REF"
    DUPLICATE_DEPENDENCY = "DUPLICATE_DEPENDENCY"
    DEPENDENCY_CYCLE = "DEPENDENCY_CYCLE"


class TaskGraphError(ValueError):
    """The group cannot be created as given. The API answers 400 with `code`, `message` and
    `details`; `details` names every offender and the field path (`tasks[2].dependencies[0]`)."""

    def __init__(self, code: TaskGraphErrorCode, message: str, details: dict[str, Any]) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(message)


@dataclass(frozen=True)
class TaskGraph:
    """A validated group. Every sequence of refs is deterministic: input order breaks ties."""

    refs: tuple[str, ...]
    """Refs in input order."""
    dependencies: Mapping[str, tuple[str, ...]]
    """ref → the refs it depends on, as given."""
    dependents: Mapping[str, tuple[str, ...]]
    """ref → the refs that depend on it, in input order."""
    order: tuple[str, ...]
    """Topological order: every task after all of its dependencies; among tasks whose
    dependencies are all placed, the one given first comes first."""
    depth: Mapping[str, int]
    """ref → 0 without dependencies, else 1 + the largest depth among its dependencies."""

    @property
    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Refs grouped by depth (level 0 first), input order within a level."""
        if not self.refs:
            return ()
        grouped: list[list[str]] = [[] for _ in range(max(self.depth.values()) + 1)]
        for ref in self.refs:
            grouped[self.depth[ref]].append(ref)
        return tuple(tuple(level) for level in grouped)

    @property
    def initially_ready(self) -> tuple[str, ...]:
        """Refs without dependencies — dispatched as soon as the group is written."""
        return tuple(ref for ref in self.refs if not self.dependencies[ref])


def _ref_and_dependencies(spec: TaskSpecLike | Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    if isinstance(spec, Mapping):
        return spec["ref"], tuple(spec.get("dependencies") or ())
    return spec.ref, tuple(spec.dependencies or ())


def _summarise(parts: Sequence[str]) -> str:
    shown = "; ".join(parts[:_MESSAGE_LIMIT])
    hidden = len(parts) - _MESSAGE_LIMIT
    return f"{shown}; and {hidden} more" if hidden > 0 else shown


def validate_task_graph(
    specs: Sequence[TaskSpecLike | Mapping[str, Any]], *, max_tasks: int = MAX_GROUP_TASKS
) -> TaskGraph:
    """Check a group's tasks and their dependencies; raise `TaskGraphError` for the first kind of
    problem found, in this order: empty group, too many tasks, duplicate refs, self-dependencies,
    unknown refs, a dependency listed twice, a cycle. Runs in O(tasks + dependencies)."""
    if not specs:
        raise TaskGraphError(
            TaskGraphErrorCode.EMPTY_GROUP,
            "a task group needs at least one task",
            {"field": "tasks", "count": 0},
        )
    if len(specs) > max_tasks:
        raise TaskGraphError(
            TaskGraphErrorCode.TOO_MANY_TASKS,
            f"a task group holds at most {max_tasks} tasks, got {len(specs)}",
            {"field": "tasks", "count": len(specs), "limit": max_tasks},
        )

    parsed = [_ref_and_dependencies(spec) for spec in specs]
    positions: dict[str, list[int]] = {}
    for index, (ref, _) in enumerate(parsed):
        positions.setdefault(ref, []).append(index)
    _reject_duplicate_refs(positions)
    _reject_bad_dependencies(parsed, positions)

    refs = tuple(ref for ref, _ in parsed)
    dependencies = dict(parsed)
    dependents: dict[str, list[str]] = {ref: [] for ref in refs}
    for ref, deps in parsed:
        for dep in deps:
            dependents[dep].append(ref)
    index_of = {ref: positions[ref][0] for ref in refs}

    order = _stable_topological_order(refs, dependencies, dependents, index_of)
    if len(order) < len(refs):
        cycle = _find_cycle(refs, dependencies, placed=set(order), index_of=index_of)
        raise TaskGraphError(
            TaskGraphErrorCode.DEPENDENCY_CYCLE,
            f"dependency cycle: {' -> '.join(cycle)} (each task depends on the next)",
            {"cycle": cycle},
        )

    depth: dict[str, int] = {}
    for ref in order:
        depth[ref] = 1 + max((depth[dep] for dep in dependencies[ref]), default=-1)

    return TaskGraph(
        refs=refs,
        dependencies=dependencies,
        dependents={ref: tuple(children) for ref, children in dependents.items()},
        order=tuple(order),
        depth=depth,
    )


def _reject_duplicate_refs(positions: Mapping[str, list[int]]) -> None:
    duplicates = [(ref, where) for ref, where in positions.items() if len(where) > 1]
    if not duplicates:
        return
    raise TaskGraphError(
        TaskGraphErrorCode.DUPLICATE_REF,
        "duplicate task ref: "
        + _summarise(
            [
                f"'{ref}' (" + ", ".join(f"tasks[{i}]" for i in where) + ")"
                for ref, where in duplicates
            ]
        ),
        {
            "duplicates": [
                {"ref": ref, "fields": [f"tasks[{i}].ref" for i in where]}
                for ref, where in duplicates
            ]
        },
    )


def _reject_bad_dependencies(
    parsed: Sequence[tuple[str, tuple[str, ...]]], positions: Mapping[str, list[int]]
) -> None:
    self_dependent: list[dict[str, str]] = []
    unknown: list[dict[str, str]] = []
    repeated: list[dict[str, str]] = []
    for index, (ref, deps) in enumerate(parsed):
        seen: set[str] = set()
        for dep_index, dep in enumerate(deps):
            field = f"tasks[{index}].dependencies[{dep_index}]"
            if dep == ref:
                self_dependent.append({"ref": ref, "field": field})
            elif dep not in positions:
                unknown.append({"ref": ref, "dependency": dep, "field": field})
            elif dep in seen:
                repeated.append({"ref": ref, "dependency": dep, "field": field})
            seen.add(dep)

    if self_dependent:
        raise TaskGraphError(
            TaskGraphErrorCode.SELF_DEPENDENCY,
            _summarise([f"task '{item['ref']}' depends on itself" for item in self_dependent]),
            {"selfDependencies": self_dependent},
        )
    if unknown:
        raise TaskGraphError(
            TaskGraphErrorCode.UNKNOWN_REF,
            _summarise(
                [
                    f"task '{item['ref']}' depends on unknown ref '{item['dependency']}'"
                    for item in unknown
                ]
            ),
            {"unknown": unknown},
        )
    if repeated:
        raise TaskGraphError(
            TaskGraphErrorCode.DUPLICATE_DEPENDENCY,
            _summarise(
                [
                    f"task '{item['ref']}' lists dependency '{item['dependency']}' more than once"
                    for item in repeated
                ]
            ),
            {"duplicates": repeated},
        )


def _stable_topological_order(
    refs: Sequence[str],
    dependencies: Mapping[str, Sequence[str]],
    dependents: Mapping[str, Sequence[str]],
    index_of: Mapping[str, int],
) -> list[str]:
    """Kahn's algorithm with a heap keyed by input position, so the order is the same for the
    same input no matter how the dependency lists happen to be arranged."""
    unmet = {ref: len(dependencies[ref]) for ref in refs}
    ready = [index_of[ref] for ref in refs if unmet[ref] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        ref = refs[heapq.heappop(ready)]
        order.append(ref)
        for child in dependents[ref]:
            unmet[child] -= 1
            if unmet[child] == 0:
                heapq.heappush(ready, index_of[child])
    return order


def _find_cycle(
    refs: Sequence[str],
    dependencies: Mapping[str, Sequence[str]],
    *,
    placed: set[str],
    index_of: Mapping[str, int],
) -> list[str]:
    """One cycle among the tasks Kahn's algorithm could not place, as [a, b, ..., a] where each
    task depends on the next, starting at the cycle's earliest-given task.

    Every unplaced task still has an unplaced dependency, so following the first one from any
    unplaced task must revisit a task; the revisited stretch is a cycle.
    """
    start = next(ref for ref in refs if ref not in placed)
    path: list[str] = []
    step_of: dict[str, int] = {}
    ref = start
    while ref not in step_of:
        step_of[ref] = len(path)
        path.append(ref)
        ref = next(dep for dep in dependencies[ref] if dep not in placed)
    cycle = path[step_of[ref] :]
    first = min(range(len(cycle)), key=lambda i: index_of[cycle[i]])
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


# --- run time: one task and its neighbours, by id --------------------------------------------


class DependencyState(StrEnum):
    READY = "ready"
    """Every dependency completed: dispatch the task."""
    WAITING = "waiting"
    """Some dependency has not finished yet and none has failed or been cancelled."""
    BLOCKED = "blocked"
    """A dependency failed or was cancelled: the task can never run and is to be cancelled."""


@dataclass(frozen=True, slots=True)
class DependencyVerdict:
    state: DependencyState
    blocking_dependency: str | None = None
    blocking_status: TaskStatus | None = None

    @property
    def is_ready(self) -> bool:
        return self.state is DependencyState.READY

    @property
    def cancel_reason(self) -> TransitionReason | None:
        if self.blocking_status is TaskStatus.FAILED:
            return TransitionReason.DEPENDENCY_FAILED
        if self.blocking_status is TaskStatus.CANCELLED:
            return TransitionReason.DEPENDENCY_CANCELLED
        return None

    @property
    def message(self) -> str | None:
        """Human-readable cause to record on the cancelled task, e.g. "dependency 'x' failed"."""
        if self.blocking_dependency is None or self.blocking_status is None:
            return None
        return _dependency_message(self.blocking_dependency, self.blocking_status)


def _dependency_message(dependency: str, status: TaskStatus) -> str:
    outcome = "failed" if status is TaskStatus.FAILED else "was cancelled"
    return f"dependency '{dependency}' {outcome}"


def evaluate_dependencies(statuses: Mapping[str, TaskStatus]) -> DependencyVerdict:
    """Decide from its dependencies' statuses (dependency id → status) whether a pending task
    may run. A failed or cancelled dependency wins over unfinished ones, because the task can
    never run; the first such dependency in the mapping's order is named. No dependencies:
    ready."""
    waiting = False
    for dependency, raw_status in statuses.items():
        status = TaskStatus(raw_status)
        if status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            return DependencyVerdict(DependencyState.BLOCKED, dependency, status)
        if status is not TaskStatus.COMPLETED:
            waiting = True
    return DependencyVerdict(DependencyState.WAITING if waiting else DependencyState.READY)


@dataclass(frozen=True, slots=True)
class CascadeCancellation:
    """A task to cancel because `caused_by` (a dependency or the parent) failed or was
    cancelled."""

    task_id: str
    caused_by: str
    reason: TransitionReason

    @property
    def message(self) -> str:
        if self.reason is TransitionReason.PARENT_CANCELLED:
            return f"parent task '{self.caused_by}' was cancelled"
        status = (
            TaskStatus.FAILED
            if self.reason is TransitionReason.DEPENDENCY_FAILED
            else TaskStatus.CANCELLED
        )
        return _dependency_message(self.caused_by, status)


Neighbours = Mapping[str, Iterable[str]] | Callable[[str], Iterable[str]]
StatusLookup = Mapping[str, TaskStatus] | Callable[[str], TaskStatus | None]


def _neighbours(source: Neighbours | None, task_id: str) -> Iterable[str]:
    if source is None:
        return ()
    if isinstance(source, Mapping):
        return source.get(task_id, ())
    return source(task_id)


def _status(source: StatusLookup, task_id: str) -> TaskStatus | None:
    status = source.get(task_id) if isinstance(source, Mapping) else source(task_id)
    return None if status is None else TaskStatus(status)


def cancellation_cascade(
    root_id: str,
    *,
    root_status: TaskStatus,
    dependents_of: Neighbours,
    status_of: StatusLookup,
    subtasks_of: Neighbours | None = None,
) -> tuple[CascadeCancellation, ...]:
    """Every unfinished task that can no longer run because `root_id` ended as `root_status`
    (failed or cancelled): its dependents and, when `subtasks_of` is given, its subtasks, and
    transitively theirs. Breadth-first from the root, neighbours in the order given.

    A task that already finished is neither cancelled nor looked through: a completed one has
    its result, so what depends on it does not need the root; a failed or cancelled one
    cascaded when it ended. Hence the work is O(tasks cancelled + the edges leaving them), and
    `dependents_of`/`status_of` may fetch lazily. A task whose status is unknown (None) is
    skipped. The root itself is not part of the result.
    """
    root_status = TaskStatus(root_status)
    if root_status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        raise ValueError(f"only a failed or cancelled task cascades, not a '{root_status}' one")

    visited = {root_id}
    queue = deque([(root_id, root_status)])
    result: list[CascadeCancellation] = []
    while queue:
        task_id, status = queue.popleft()
        dependency_reason = (
            TransitionReason.DEPENDENCY_FAILED
            if status is TaskStatus.FAILED
            else TransitionReason.DEPENDENCY_CANCELLED
        )
        neighbours = _tagged(_neighbours(dependents_of, task_id), dependency_reason)
        if subtasks_of is not None:
            neighbours = itertools.chain(
                neighbours,
                _tagged(_neighbours(subtasks_of, task_id), TransitionReason.PARENT_CANCELLED),
            )
        for neighbour, reason in neighbours:
            if neighbour in visited:
                continue
            visited.add(neighbour)
            if _status(status_of, neighbour) not in UNFINISHED_STATUSES:
                continue
            result.append(CascadeCancellation(neighbour, caused_by=task_id, reason=reason))
            queue.append((neighbour, TaskStatus.CANCELLED))
    return tuple(result)


def _tagged(ids: Iterable[str], reason: TransitionReason) -> Iterator[tuple[str, TransitionReason]]:
    return ((task_id, reason) for task_id in ids)


# --- group status from counters -----------------------------------------------------------


class GroupStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """How many of a group's tasks are in each status — kept on the group document (as
    `as_dict()`) so that a task's status change updates the group in O(1).

    Group status, in this order of precedence:
    - no tasks, or every task pending → pending;
    - every task completed → completed;
    - every task finished and at least one failed → failed;
    - every task finished, none failed, at least one cancelled → cancelled;
    - otherwise (something queued or in progress, or some finished and some not) → running.
    """

    pending: int = 0
    queued: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    def __post_init__(self) -> None:
        for status in TaskStatus:
            if self.count(status) < 0:
                raise ValueError(f"negative task count for '{status}'")

    @classmethod
    def from_statuses(cls, statuses: Iterable[TaskStatus]) -> Self:
        tally = dict.fromkeys(TaskStatus, 0)
        for status in statuses:
            tally[TaskStatus(status)] += 1
        return cls(**{status.value: count for status, count in tally.items()})

    @classmethod
    def from_mapping(cls, counts: Mapping[str, int]) -> Self:
        """From a group document's counter map; absent statuses count zero."""
        unknown = set(counts) - {status.value for status in TaskStatus}
        if unknown:
            raise ValueError(f"unknown task statuses in counts: {sorted(unknown)}")
        return cls(**{key: int(value) for key, value in counts.items()})

    def as_dict(self) -> dict[str, int]:
        return {status.value: self.count(status) for status in TaskStatus}

    def count(self, status: TaskStatus) -> int:
        value: int = getattr(self, TaskStatus(status).value)
        return value

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))

    @property
    def unfinished(self) -> int:
        return self.pending + self.queued + self.in_progress

    @property
    def finished(self) -> int:
        return self.completed + self.failed + self.cancelled

    @staticmethod
    def increments(old: TaskStatus | None, new: TaskStatus | None) -> dict[str, int]:
        """Per-status deltas for one task moving from `old` to `new` (None: the task is being
        added or removed) — what to pass to Firestore's `Increment` on the counter map."""
        deltas: dict[str, int] = {}
        if old == new:
            return deltas
        if old is not None:
            deltas[TaskStatus(old).value] = -1
        if new is not None:
            deltas[TaskStatus(new).value] = 1
        return deltas

    def apply(self, old: TaskStatus | None, new: TaskStatus | None) -> Self:
        """The counts after one task moved from `old` to `new` (None: added or removed).

        Raises ValueError if `old` has no task to move: the counters disagree with the tasks."""
        deltas = self.increments(old, new)
        if not deltas:
            return self
        updated = self.as_dict()
        for key, delta in deltas.items():
            updated[key] += delta
        if old is not None and updated[TaskStatus(old).value] < 0:
            raise ValueError(f"no task counted as '{old}' to move to '{new}'")
        return type(self)(**updated)

    def status(self) -> GroupStatus:
        total = self.total
        if total == 0 or self.pending == total:
            return GroupStatus.PENDING
        if self.completed == total:
            return GroupStatus.COMPLETED
        if self.unfinished == 0:
            return GroupStatus.FAILED if self.failed else GroupStatus.CANCELLED
        return GroupStatus.RUNNING

    def progress(self, in_progress_sum: float = 0.0) -> float:
        """Share of the group's work done, 0..1: each completed task counts 1, each task in
        progress its own progress (`in_progress_sum` is the sum of those, if the caller has it;
        clamped to what the in-progress tasks can contribute), failed and cancelled tasks 0 —
        so a group with a failed or cancelled task never reports 1."""
        total = self.total
        if total == 0:
            return 0.0
        partial = min(max(in_progress_sum, 0.0), float(self.in_progress))
        return (self.completed + partial) / total
