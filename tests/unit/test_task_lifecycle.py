"""The task status machine, checked against an independent table of the intended behaviour."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aide.domain.task_lifecycle import (
    CANCEL_REASONS,
    TERMINAL_STATUSES,
    UNFINISHED_STATUSES,
    IllegalTransition,
    TaskEventKind,
    TaskStatus,
    Transition,
    TransitionReason,
    allowed_targets,
    is_terminal,
    is_unfinished,
    requeue_or_fail,
    transition,
)
from aide.domain.tasks import Task

S = TaskStatus
R = TransitionReason
CANCELS = {R.USER_CANCEL, R.GROUP_CANCELLED, R.PARENT_CANCELLED}
CANCELS |= {R.DEPENDENCY_FAILED, R.DEPENDENCY_CANCELLED}

# Written out by hand from the specified state machine, not derived from the module under test:
# (from, to) → (reasons, timestamp field, event kind).
EXPECTED: dict[tuple[S, S], tuple[set[R], str, str]] = {
    (S.PENDING, S.QUEUED): ({R.DISPATCH}, "queuedAt", "queued"),
    (S.PENDING, S.CANCELLED): (CANCELS, "cancelledAt", "cancelled"),
    (S.QUEUED, S.IN_PROGRESS): ({R.CLAIM}, "startedAt", "started"),
    (S.QUEUED, S.CANCELLED): (CANCELS, "cancelledAt", "cancelled"),
    (S.IN_PROGRESS, S.COMPLETED): ({R.COMPLETE}, "completedAt", "completed"),
    (S.IN_PROGRESS, S.FAILED): (
        {R.ERROR, R.TIMEOUT, R.HEARTBEAT_LOST, R.TRANSIENT_ERROR},
        "failedAt",
        "failed",
    ),
    (S.IN_PROGRESS, S.CANCELLED): (CANCELS, "cancelledAt", "cancelled"),
    (S.IN_PROGRESS, S.QUEUED): ({R.HEARTBEAT_LOST, R.TRANSIENT_ERROR}, "queuedAt", "requeued"),
    (S.FAILED, S.QUEUED): ({R.RETRY}, "queuedAt", "retried"),
    # Revived: the failure that cancelled it is being retried.
    (S.CANCELLED, S.PENDING): ({R.DEPENDENCY_RETRIED}, "updatedAt", "retried"),
}

# Repeating a move whose result already holds: (status, reason) pairs that are no-ops.
NOOPS: set[tuple[S, R]] = {(S.CANCELLED, reason) for reason in CANCELS} | {
    (S.QUEUED, R.DISPATCH),
    (S.IN_PROGRESS, R.CLAIM),
    (S.COMPLETED, R.COMPLETE),
    (S.FAILED, R.ERROR),
    (S.FAILED, R.TIMEOUT),
    (S.FAILED, R.HEARTBEAT_LOST),
    (S.FAILED, R.TRANSIENT_ERROR),
    (S.QUEUED, R.HEARTBEAT_LOST),
    (S.QUEUED, R.TRANSIENT_ERROR),
    (S.PENDING, R.DEPENDENCY_RETRIED),
}

ALL_TRIPLES = list(itertools.product(S, S, R))


def test_there_are_six_statuses_split_into_terminal_and_unfinished() -> None:
    assert [s.value for s in S] == [
        "pending",
        "queued",
        "in_progress",
        "completed",
        "failed",
        "cancelled",
    ]
    assert {S.COMPLETED, S.FAILED, S.CANCELLED} == TERMINAL_STATUSES
    assert {S.PENDING, S.QUEUED, S.IN_PROGRESS} == UNFINISHED_STATUSES
    for status in S:
        assert is_terminal(status) != is_unfinished(status)
    assert CANCELS == CANCEL_REASONS


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [(f, t, r) for (f, t), (reasons, _, _) in EXPECTED.items() for r in sorted(reasons)],
)
def test_every_legal_move_stamps_its_time_and_names_its_event(
    current: S, target: S, reason: R
) -> None:
    _, stamp, kind = EXPECTED[(current, target)]
    result = transition(current, target, reason=reason)
    assert result.from_status is current
    assert result.to_status is target
    assert result.reason is reason
    assert result.timestamp_field == stamp
    assert result.event_kind == TaskEventKind(kind)
    assert not result.is_noop


def test_every_other_triple_is_illegal_or_a_documented_noop() -> None:
    checked = 0
    for current, target, reason in ALL_TRIPLES:
        legal = reason in EXPECTED.get((current, target), (set(), "", ""))[0]
        if legal:
            continue
        if current == target and (current, reason) in NOOPS:
            result = transition(current, target, reason=reason)
            assert result.is_noop
            assert result.timestamp_field is None
            assert result.event_kind is None
            assert result.clears_fields == ()
            assert not result.starts_attempt
            assert not result.opens_attempt_budget
            continue
        with pytest.raises(IllegalTransition) as caught:
            transition(current, target, reason=reason)
        assert caught.value.from_status is current
        assert caught.value.to_status is target
        assert caught.value.reason is reason
        assert caught.value.code == "ILLEGAL_TRANSITION"
        assert caught.value.details == {"from": current, "to": target, "reason": reason}
        checked += 1
    # 6 x 6 x 14 triples minus the legal ones and the no-ops; guards against a vacuous loop.
    legal_count = sum(len(reasons) for reasons, _, _ in EXPECTED.values())
    assert checked == len(ALL_TRIPLES) - legal_count - len(NOOPS)


def test_an_illegal_move_reads_well_in_an_api_error() -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(S.COMPLETED, S.CANCELLED, reason=R.USER_CANCEL)
    assert caught.value.message == (
        "cannot move a task from 'completed' to 'cancelled' (user_cancel)"
    )
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize("reason", sorted(CANCELS))
def test_cancelling_a_cancelled_task_again_changes_nothing(reason: R) -> None:
    assert transition(S.CANCELLED, S.CANCELLED, reason=reason).is_noop


@pytest.mark.parametrize("finished", [S.COMPLETED, S.FAILED])
def test_a_finished_task_cannot_be_cancelled(finished: S) -> None:
    with pytest.raises(IllegalTransition):
        transition(finished, S.CANCELLED, reason=R.USER_CANCEL)


def test_duplicate_deliveries_are_noops_so_callers_neither_publish_nor_run_twice() -> None:
    assert transition(S.QUEUED, S.QUEUED, reason=R.DISPATCH).is_noop
    claim_again = transition(S.IN_PROGRESS, S.IN_PROGRESS, reason=R.CLAIM)
    assert claim_again.is_noop
    assert not claim_again.starts_attempt
    assert transition(S.COMPLETED, S.COMPLETED, reason=R.COMPLETE).is_noop


def test_retry_is_only_for_failed_tasks_even_when_already_requeued() -> None:
    for status in S:
        if status is S.FAILED:
            continue
        with pytest.raises(IllegalTransition):
            transition(status, S.QUEUED, reason=R.RETRY)


def test_claim_starts_an_attempt_and_retry_resets_the_budget_and_the_stale_fields() -> None:
    claim = transition(S.QUEUED, S.IN_PROGRESS, reason=R.CLAIM)
    assert claim.starts_attempt
    assert not claim.opens_attempt_budget
    retry = transition(S.FAILED, S.QUEUED, reason=R.RETRY)
    assert retry.opens_attempt_budget
    assert not retry.starts_attempt
    assert set(retry.clears_fields) == {"startedAt", "heartbeatAt", "failedAt", "error"}
    requeue = transition(S.IN_PROGRESS, S.QUEUED, reason=R.HEARTBEAT_LOST)
    assert set(requeue.clears_fields) == {"startedAt", "heartbeatAt"}
    assert not requeue.opens_attempt_budget
    for (current, target), (reasons, _, _) in EXPECTED.items():
        for reason in reasons:
            result = transition(current, target, reason=reason)
            assert result.starts_attempt == (reason is R.CLAIM)
            assert result.opens_attempt_budget == (reason is R.RETRY)


def test_plain_strings_from_a_document_are_accepted_and_garbage_is_not() -> None:
    result = transition("queued", "in_progress", reason="claim")  # type: ignore[arg-type]
    assert result.to_status is S.IN_PROGRESS
    assert result.event_kind is TaskEventKind.STARTED
    with pytest.raises(ValueError):
        transition("running", "completed", reason="complete")  # type: ignore[arg-type]


def test_allowed_targets() -> None:
    assert allowed_targets(S.PENDING) == {S.QUEUED, S.CANCELLED}
    assert allowed_targets(S.QUEUED) == {S.IN_PROGRESS, S.CANCELLED}
    assert allowed_targets(S.IN_PROGRESS) == {S.COMPLETED, S.FAILED, S.CANCELLED, S.QUEUED}
    assert allowed_targets(S.FAILED) == {S.QUEUED}
    assert allowed_targets(S.COMPLETED) == frozenset()
    assert allowed_targets(S.CANCELLED) == {S.PENDING}  # only revived by a retried failure


@pytest.mark.parametrize("reason", [R.HEARTBEAT_LOST, R.TRANSIENT_ERROR])
def test_requeue_while_attempts_remain_then_fail(reason: R) -> None:
    first = requeue_or_fail(S.IN_PROGRESS, reason=reason, attempts=1, max_attempts=3)
    assert (first.to_status, first.event_kind) == (S.QUEUED, TaskEventKind.REQUEUED)
    second = requeue_or_fail(S.IN_PROGRESS, reason=reason, attempts=2, max_attempts=3)
    assert second.to_status is S.QUEUED
    last = requeue_or_fail(S.IN_PROGRESS, reason=reason, attempts=3, max_attempts=3)
    assert (last.to_status, last.reason) == (S.FAILED, reason)
    assert last.event_kind is TaskEventKind.FAILED
    assert last.timestamp_field == "failedAt"
    # The sweeper re-reads inside its transaction; a task someone already requeued is left alone.
    assert requeue_or_fail(S.QUEUED, reason=reason, attempts=1, max_attempts=3).is_noop


def test_requeue_refuses_reasons_that_do_not_requeue_and_an_empty_budget() -> None:
    with pytest.raises(ValueError, match="not a reason to requeue"):
        requeue_or_fail(S.IN_PROGRESS, reason=R.ERROR, attempts=1, max_attempts=3)
    with pytest.raises(ValueError, match="at least 1"):
        requeue_or_fail(S.IN_PROGRESS, reason=R.HEARTBEAT_LOST, attempts=0, max_attempts=0)
    with pytest.raises(IllegalTransition):
        requeue_or_fail(S.COMPLETED, reason=R.HEARTBEAT_LOST, attempts=1, max_attempts=3)


def _paths(start: S, length: int) -> list[list[tuple[S, R]]]:
    """Every sequence of `length` legal moves from `start`, per the hand-written table."""
    if length == 0:
        return [[]]
    paths = []
    for (current, target), (reasons, _, _) in EXPECTED.items():
        if current is not start:
            continue
        for reason in sorted(reasons):
            paths += [[(target, reason), *rest] for rest in _paths(target, length - 1)]
    return paths


def test_every_legal_path_of_up_to_six_moves_from_pending_applies_step_by_step() -> None:
    exercised: set[tuple[S, S, R]] = set()
    for length in range(1, 7):
        for path in _paths(S.PENDING, length):
            status = S.PENDING
            for target, reason in path:
                result = transition(status, target, reason=reason)
                assert isinstance(result, Transition)
                assert not result.is_noop
                exercised.add((status, target, reason))
                status = result.to_status
    # Every legal (from, to, reason) is reachable from pending within six moves.
    assert exercised == {(f, t, r) for (f, t), (reasons, _, _) in EXPECTED.items() for r in reasons}
    # The happy path and its variants all exist in the enumeration.
    happy = [(S.QUEUED, R.DISPATCH), (S.IN_PROGRESS, R.CLAIM), (S.COMPLETED, R.COMPLETE)]
    assert happy in _paths(S.PENDING, 3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(S)), st.sampled_from(list(R))), max_size=30))
def test_random_requests_either_move_legally_or_leave_the_status_alone(
    requests: list[tuple[S, R]],
) -> None:
    status = S.PENDING
    for target, reason in requests:
        try:
            result = transition(status, target, reason=reason)
        except IllegalTransition:
            assert reason not in EXPECTED.get((status, target), (set(), "", ""))[0]
            continue
        if result.is_noop:
            assert (status, reason) in NOOPS
        else:
            assert reason in EXPECTED[(status, target)][0]
        status = result.to_status
    assert status in S


def _task(**fields: object) -> Task:
    return Task.model_validate(
        {"id": "t1", "userId": "u1", "title": "A task", "description": "Do it.", **fields}
    )


APPLIED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_applying_a_claim_starts_an_attempt() -> None:
    queued = _task(status="queued", attempts=1, queuedAt=APPLIED_AT - timedelta(minutes=1))
    claimed = transition(S.QUEUED, S.IN_PROGRESS, reason=R.CLAIM).apply_to(queued, APPLIED_AT)
    assert claimed.status is S.IN_PROGRESS
    assert claimed.attempts == 2
    assert claimed.started_at == claimed.heartbeat_at == claimed.updated_at == APPLIED_AT
    assert claimed.queued_at == queued.queued_at
    assert queued.status is S.QUEUED  # the task given is left as it was


def test_applying_a_retry_clears_the_abandoned_attempt_and_opens_attempt_budget() -> None:
    failed = _task(
        status="failed",
        attempts=3,
        error="boom",
        startedAt=APPLIED_AT - timedelta(hours=1),
        heartbeatAt=APPLIED_AT - timedelta(hours=1),
        failedAt=APPLIED_AT - timedelta(minutes=30),
    )
    retried = transition(S.FAILED, S.QUEUED, reason=R.RETRY).apply_to(failed, APPLIED_AT)
    assert (retried.status, retried.attempts, retried.queued_at) == (S.QUEUED, 3, APPLIED_AT)
    assert (retried.retries, retried.retried_at_attempt, retried.attempts_in_budget) == (1, 3, 0)
    assert retried.error is None and retried.failed_at is None
    assert retried.started_at is None and retried.heartbeat_at is None


def test_applying_a_no_op_changes_nothing() -> None:
    cancelled = _task(status="cancelled")
    change = transition(S.CANCELLED, S.CANCELLED, reason=R.USER_CANCEL)
    assert change.is_noop
    assert change.apply_to(cancelled, APPLIED_AT) is cancelled
