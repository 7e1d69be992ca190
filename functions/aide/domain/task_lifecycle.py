"""The task status machine: which moves are legal, why they happen, and what each one records.

    from         to           reasons
    pending      queued       dispatch
    queued       in_progress  claim
    in_progress  completed    complete
    in_progress  failed       error, timeout, heartbeat_lost, transient_error (attempts exhausted)
    in_progress  queued       heartbeat_lost, transient_error (attempts remain: a requeue)
    failed       queued       retry
    cancelled    pending      dependency_retried (cancelled by a failure that is being retried)
    pending, queued, in_progress → cancelled: user_cancel, group_cancelled, parent_cancelled,
                                               dependency_failed, dependency_cancelled

Every legal move names its reason (`TransitionReason`). A reason is only accepted on the edges it
explains, so a caller that passes the wrong one (say, `complete` for a move to `failed`) gets an
`IllegalTransition` instead of a silently mislabelled event.

Repeating a move whose result already holds is a *no-op*, not an error (the `Transition` says
`is_noop`). This is what a demanding API user and an at-least-once message bus both expect:
cancelling an already cancelled task returns the task unchanged with 200, a twice-delivered dispatch
does not publish twice, a twice-delivered claim does not run the task twice (the caller sees the
no-op and stops; if the first run died, the heartbeat sweeper requeues the task), a twice-delivered
completion records nothing new. A repeated cancel keeps the first cancellation's reason.

The one exception is `retry`: it is a command to run a *failed* task again, so retrying a task
that is not failed (even one that a previous retry already queued) is a 409, not a silent success
that might hide a second run.
Cancelling a completed or failed task is a 409 too: the work it would stop is already over.

Attempts: a claim starts an attempt. A run that dies (heartbeat lost) or hits a transient error
goes back to `queued` while attempts remain and to `failed` once they are exhausted
(`requeue_or_fail`). A user retry grants a fresh attempt budget: `attempts` keeps counting every
claim (the history), and the attempts made before the retry (`retriedAtAttempt`) no longer count
against `maxAttempts`; `retries` counts the user's retries (bounded by the plan).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, TypeVar

from aide.domain.base import DocumentModel

# The task document model (aide.domain.tasks.Task, which imports this module).
TaskDocument = TypeVar("TaskDocument", bound=DocumentModel)


class TaskStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}
)
"""Statuses a task stays in unless a user retries it (only `failed` can be retried)."""

UNFINISHED_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.PENDING, TaskStatus.QUEUED, TaskStatus.IN_PROGRESS}
)
"""Statuses whose task still has work ahead of it; exactly these can be cancelled."""


def is_terminal(status: TaskStatus) -> bool:
    return status in TERMINAL_STATUSES


def is_unfinished(status: TaskStatus) -> bool:
    return status in UNFINISHED_STATUSES


class TransitionReason(StrEnum):
    DISPATCH = "dispatch"
    """pending → queued: no unmet dependencies (at creation, or the last one just completed)."""
    CLAIM = "claim"
    """queued → in_progress: the agent runtime took the task for one attempt."""
    COMPLETE = "complete"
    """in_progress → completed: the agent finished and wrote its outputs."""
    ERROR = "error"
    """in_progress → failed: a non-retryable error (bad input, provider refusal, agent bug)."""
    TIMEOUT = "timeout"
    """in_progress → failed: the agent's or the task's time limit elapsed."""
    HEARTBEAT_LOST = "heartbeat_lost"
    """in_progress → queued (attempts remain) or failed (exhausted): the sweeper found the run
    silent for too long, so the worker is presumed dead."""
    TRANSIENT_ERROR = "transient_error"
    """in_progress → queued (attempts remain) or failed (exhausted): the attempt ended with an
    error worth another attempt, after in-step retries gave up."""
    RETRY = "retry"
    """failed → queued: a user asked to run the failed task again."""
    USER_CANCEL = "user_cancel"
    """unfinished → cancelled: the owner cancelled this very task."""
    GROUP_CANCELLED = "group_cancelled"
    """unfinished → cancelled: the owner cancelled the task's group."""
    PARENT_CANCELLED = "parent_cancelled"
    """unfinished → cancelled: the parent task of this subtask was cancelled."""
    DEPENDENCY_FAILED = "dependency_failed"
    """unfinished → cancelled: a task this one depends on failed, so it can never run."""
    DEPENDENCY_CANCELLED = "dependency_cancelled"
    """unfinished → cancelled: a task this one depends on was cancelled, so it can never run."""
    DEPENDENCY_RETRIED = "dependency_retried"
    """cancelled → pending: the failed task whose failure cancelled this one was retried."""


CANCEL_REASONS: frozenset[TransitionReason] = frozenset(
    {
        TransitionReason.USER_CANCEL,
        TransitionReason.GROUP_CANCELLED,
        TransitionReason.PARENT_CANCELLED,
        TransitionReason.DEPENDENCY_FAILED,
        TransitionReason.DEPENDENCY_CANCELLED,
    }
)

REQUEUE_REASONS: frozenset[TransitionReason] = frozenset(
    {TransitionReason.HEARTBEAT_LOST, TransitionReason.TRANSIENT_ERROR}
)
"""Reasons that send a running task back to the queue while it has attempts left."""

FAILURE_REASONS: frozenset[TransitionReason] = frozenset(
    {TransitionReason.ERROR, TransitionReason.TIMEOUT} | REQUEUE_REASONS
)


class TaskEventKind(StrEnum):
    """`kind` of the event each status change appends to `tasks/{id}/events`.

    The agent runtime adds its own kinds (steps, progress) to the same stream; these are the
    lifecycle ones.
    """

    QUEUED = "queued"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REQUEUED = "requeued"
    RETRIED = "retried"


_S = TaskStatus
_R = TransitionReason

LEGAL_TRANSITIONS: Mapping[tuple[TaskStatus, TaskStatus], frozenset[TransitionReason]] = {
    (_S.PENDING, _S.QUEUED): frozenset({_R.DISPATCH}),
    (_S.PENDING, _S.CANCELLED): CANCEL_REASONS,
    (_S.QUEUED, _S.IN_PROGRESS): frozenset({_R.CLAIM}),
    (_S.QUEUED, _S.CANCELLED): CANCEL_REASONS,
    (_S.IN_PROGRESS, _S.COMPLETED): frozenset({_R.COMPLETE}),
    (_S.IN_PROGRESS, _S.FAILED): FAILURE_REASONS,
    (_S.IN_PROGRESS, _S.CANCELLED): CANCEL_REASONS,
    (_S.IN_PROGRESS, _S.QUEUED): REQUEUE_REASONS,
    (_S.FAILED, _S.QUEUED): frozenset({_R.RETRY}),
    (_S.CANCELLED, _S.PENDING): frozenset({_R.DEPENDENCY_RETRIED}),
}
"""(from, to) → the reasons that may explain that move. Anything absent is illegal."""


@dataclass(frozen=True, slots=True)
class _EdgeEffect:
    timestamp_field: str
    event_kind: TaskEventKind
    clears_fields: tuple[str, ...] = ()


# The document fields are the task document's camelCase names. A requeue or retry clears what
# described the abandoned attempt so the document never shows a start time or error that belongs
# to a run which is no longer current (the events keep the history).
_EFFECTS: Mapping[tuple[TaskStatus, TaskStatus], _EdgeEffect] = {
    (_S.PENDING, _S.QUEUED): _EdgeEffect("queuedAt", TaskEventKind.QUEUED),
    (_S.PENDING, _S.CANCELLED): _EdgeEffect("cancelledAt", TaskEventKind.CANCELLED),
    (_S.QUEUED, _S.IN_PROGRESS): _EdgeEffect("startedAt", TaskEventKind.STARTED),
    (_S.QUEUED, _S.CANCELLED): _EdgeEffect("cancelledAt", TaskEventKind.CANCELLED),
    (_S.IN_PROGRESS, _S.COMPLETED): _EdgeEffect("completedAt", TaskEventKind.COMPLETED),
    (_S.IN_PROGRESS, _S.FAILED): _EdgeEffect("failedAt", TaskEventKind.FAILED),
    (_S.IN_PROGRESS, _S.CANCELLED): _EdgeEffect("cancelledAt", TaskEventKind.CANCELLED),
    (_S.IN_PROGRESS, _S.QUEUED): _EdgeEffect(
        "queuedAt", TaskEventKind.REQUEUED, clears_fields=("startedAt", "heartbeatAt")
    ),
    (_S.FAILED, _S.QUEUED): _EdgeEffect(
        "queuedAt",
        TaskEventKind.RETRIED,
        clears_fields=("startedAt", "heartbeatAt", "failedAt", "error"),
    ),
    (_S.CANCELLED, _S.PENDING): _EdgeEffect(
        "updatedAt",
        TaskEventKind.RETRIED,
        clears_fields=("cancelledAt", "cancelReason", "cancelledByFailureOf"),
    ),
}

# Statuses that a reason leads to; repeating the reason on a task already there is a no-op.
# `retry` is deliberately absent (see the module docstring).
_IDEMPOTENT_TARGETS: Mapping[TransitionReason, frozenset[TaskStatus]] = {
    reason: frozenset(to for (_, to), reasons in LEGAL_TRANSITIONS.items() if reason in reasons)
    for reason in TransitionReason
    if reason is not TransitionReason.RETRY
}


@dataclass(frozen=True, slots=True)
class Transition:
    """What applying one status change means for the task document and its event stream.

    For a no-op (`is_noop`), nothing is to be written: no timestamp, no event.
    """

    from_status: TaskStatus
    to_status: TaskStatus
    reason: TransitionReason
    timestamp_field: str | None
    """Document field to set to the transaction's time (queuedAt, startedAt, completedAt,
    failedAt, cancelledAt)."""
    event_kind: TaskEventKind | None
    clears_fields: tuple[str, ...] = ()
    """Document fields to delete because they described an abandoned attempt."""
    starts_attempt: bool = False
    """True for a claim: the caller increments the task's attempt counter."""
    opens_attempt_budget: bool = False
    """True for a user retry: `retries` grows by one and the attempts made so far stop counting
    against `maxAttempts` (`retriedAtAttempt`); `attempts` itself keeps the history."""

    @property
    def is_noop(self) -> bool:
        return self.event_kind is None

    def apply_to(self, task: TaskDocument, now: datetime) -> TaskDocument:
        """The task as this change leaves it at `now`: its status, the edge's timestamp, the
        attempt counter, and without the fields of an abandoned attempt. A no-op changes
        nothing."""
        if self.is_noop:
            return task
        document = task.to_document()
        document["status"] = self.to_status.value
        document["updatedAt"] = now
        if self.timestamp_field:
            document[self.timestamp_field] = now
        for name in self.clears_fields:
            document.pop(name, None)
        if self.starts_attempt:
            document["attempts"] = int(document.get("attempts", 0)) + 1
            document["heartbeatAt"] = now
        if self.opens_attempt_budget:
            document["retries"] = int(document.get("retries", 0)) + 1
            document["retriedAtAttempt"] = int(document.get("attempts", 0))
        return task.from_document(document)


class IllegalTransition(Exception):
    """A status change the machine forbids. The API answers 409 Conflict."""

    code: ClassVar[str] = "ILLEGAL_TRANSITION"

    def __init__(
        self, from_status: TaskStatus, to_status: TaskStatus, reason: TransitionReason
    ) -> None:
        self.from_status = from_status
        self.to_status = to_status
        self.reason = reason
        super().__init__(f"cannot move a task from '{from_status}' to '{to_status}' ({reason})")

    @property
    def message(self) -> str:
        return str(self)

    @property
    def details(self) -> dict[str, str]:
        return {
            "from": str(self.from_status),
            "to": str(self.to_status),
            "reason": str(self.reason),
        }


def transition(current: TaskStatus, target: TaskStatus, *, reason: TransitionReason) -> Transition:
    """Decide the move from `current` to `target` for `reason`.

    Returns a no-op `Transition` when the task already is where `reason` would take it (see the
    module docstring); raises `IllegalTransition` for anything the machine does not allow.
    """
    current, target, reason = TaskStatus(current), TaskStatus(target), TransitionReason(reason)
    if current == target:
        if target in _IDEMPOTENT_TARGETS.get(reason, frozenset()):
            return Transition(current, target, reason, timestamp_field=None, event_kind=None)
        raise IllegalTransition(current, target, reason)
    if reason not in LEGAL_TRANSITIONS.get((current, target), frozenset()):
        raise IllegalTransition(current, target, reason)
    effect = _EFFECTS[(current, target)]
    return Transition(
        from_status=current,
        to_status=target,
        reason=reason,
        timestamp_field=effect.timestamp_field,
        event_kind=effect.event_kind,
        clears_fields=effect.clears_fields,
        starts_attempt=reason is TransitionReason.CLAIM,
        opens_attempt_budget=reason is TransitionReason.RETRY,
    )


def allowed_targets(current: TaskStatus) -> frozenset[TaskStatus]:
    """Statuses reachable from `current` in one move, for any reason."""
    return frozenset(to for (frm, to) in LEGAL_TRANSITIONS if frm == current)


def requeue_or_fail(
    current: TaskStatus, *, reason: TransitionReason, attempts: int, max_attempts: int
) -> Transition:
    """The move for a run that ended without a result (`heartbeat_lost` or `transient_error`).

    `attempts` counts the claims made so far, including the one that just ended. While it is
    below `max_attempts` the task goes back to `queued`; otherwise it fails for the same reason.
    """
    if reason not in REQUEUE_REASONS:
        raise ValueError(f"'{reason}' is not a reason to requeue a task")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    target = TaskStatus.QUEUED if attempts < max_attempts else TaskStatus.FAILED
    return transition(current, target, reason=reason)
