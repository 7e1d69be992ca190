"""A run owns its task only while the task is in progress under *its* claim. A run swept while
still alive (slow heartbeat, skewed sweeper) must not take the task back when a later claim
carries the same attempt number (retries used to reset the count; they now keep counting, and
the claim time still guards any repeat) — otherwise the task runs twice and completes twice
(found by the reliability soak)."""

from __future__ import annotations

from typing import Any

import pytest

from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.services.run_state import RunLost, RunState
from aide.services.task_transitions import change_status
from tests.integration.test_agent_runtime import deps, load, queued_task, seed_agent
from tests.support.task_runs import claim_task, fail_task


def test_a_swept_run_does_not_own_its_task_after_a_retry_and_a_new_claim(fs_client: Any) -> None:
    seed_agent(fs_client)
    queued_task(fs_client)
    claim_task(fs_client, "t1")
    zombie = RunState(deps(fs_client), load(fs_client, "t1"))  # attempt 1, still running
    assert zombie.owned(load(fs_client, "t1")).attempts == 1
    # Swept as dead meanwhile (its attempts were the last), then retried by its owner.
    fail_task(fs_client, "t1", error="the run stopped responding")
    change_status(fs_client, "t1", TaskStatus.QUEUED, TransitionReason.RETRY, message="retry")
    claim_task(fs_client, "t1")
    assert load(fs_client, "t1").attempts == 2  # a retry keeps counting attempts
    # Even a claim that repeats the attempt number is not the zombie's: ownership is by claim.
    fs_client.collection("tasks").document("t1").update({"attempts": 1})
    again = load(fs_client, "t1")
    assert again.status is TaskStatus.IN_PROGRESS and again.attempts == 1  # same number

    with pytest.raises(RunLost):
        zombie.owned(again)
    assert RunState(deps(fs_client), again).owned(load(fs_client, "t1")).id == "t1"
