"""Run slots are never lost: every slot a run frees is offered to a different waiting task,
however close together the releases and however often each is delivered, and an offered slot
is held for its task until the claim."""

from __future__ import annotations

from typing import Any

from aide.domain.agents import AgentLimits
from aide.domain.task_lifecycle import TaskStatus, TransitionReason
from aide.domain.task_slots import agent_slots_id
from aide.services.task_admission import AdmissionOutcome, admit, release
from aide.services.task_transitions import change_status
from tests.integration.task_support import slots_ref
from tests.integration.test_agent_limits import dispatched_task_ids, save_agent
from tests.integration.test_agent_runtime import load, queued_task

QUICK = {"providerOptions": {"steps": 1}}


def pool(db: Any, user: str = "u1") -> dict[str, Any]:
    return slots_ref(db, user).get().to_dict() or {}


def end_run(db: Any, task_id: str) -> None:
    change_status(db, task_id, TaskStatus.COMPLETED, TransitionReason.COMPLETE)


def test_releases_close_together_offer_each_free_slot_to_a_different_waiting_task(
    fs_client: Any,
) -> None:
    # Only the user's two slots (free plan) bind; the agent has room for ten.
    save_agent(fs_client, limits=AgentLimits(concurrency=10))
    for task_id in ("r1", "r2", "w1", "w2", "w3"):
        queued_task(fs_client, task_id, inputs=QUICK)
    assert admit(fs_client, "r1").outcome is AdmissionOutcome.CLAIMED
    assert admit(fs_client, "r2").outcome is AdmissionOutcome.CLAIMED
    for task_id in ("w1", "w2", "w3"):
        assert admit(fs_client, task_id).outcome is AdmissionOutcome.WAITING

    # Both runs end, and both releases commit before either re-dispatched task is claimed.
    end_run(fs_client, "r1")
    end_run(fs_client, "r2")
    release(fs_client, "u1", ["r1"])
    release(fs_client, "u1", ["r2"])
    assert sorted(dispatched_task_ids(fs_client)) == ["w1", "w2"]
    # Delivered again, each release frees nothing and calls nobody.
    assert not release(fs_client, "u1", ["r1"])
    assert not release(fs_client, "u1", ["r2"])
    dispatched = dispatched_task_ids(fs_client)
    assert sorted(dispatched) == ["w1", "w2"], dispatched
    assert pool(fs_client)["offered"] == ["w1", "w2"]

    # A task arriving now does not take a slot held for an offered one.
    queued_task(fs_client, "n1", inputs=QUICK)
    assert admit(fs_client, "n1").outcome is AdmissionOutcome.WAITING
    # The offered tasks claim their slots, each delivered twice.
    for task_id in ("w2", "w1", "w2", "w1"):
        assert admit(fs_client, task_id).outcome in {
            AdmissionOutcome.CLAIMED,
            AdmissionOutcome.SKIPPED,
        }
    assert {t: fs_client.collection("tasks").document(t).get().get("status")
            for t in ("w1", "w2", "w3", "n1")} == {
        "w1": "in_progress", "w2": "in_progress", "w3": "queued", "n1": "queued"
    }
    slots = pool(fs_client)
    assert sorted(slots["running"]) == ["w1", "w2"]
    assert slots["waiting"] == ["w3", "n1"] and slots["offered"] == []


def test_an_offer_to_a_task_cancelled_before_its_claim_is_reclaimed(fs_client: Any) -> None:
    save_agent(fs_client, limits=AgentLimits(concurrency=10))
    for task_id in ("r1", "r2", "w1", "w2"):
        queued_task(fs_client, task_id, inputs=QUICK)
    admit(fs_client, "r1")
    admit(fs_client, "r2")
    admit(fs_client, "w1")
    admit(fs_client, "w2")
    end_run(fs_client, "r1")
    release(fs_client, "u1", ["r1"])
    assert dispatched_task_ids(fs_client) == ["w1"]
    change_status(fs_client, "w1", TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)
    # w2 finds r2 running and w1's offer dead: it takes the slot.
    assert admit(fs_client, "w2").outcome is AdmissionOutcome.CLAIMED
    slots = pool(fs_client)
    assert sorted(slots["running"]) == ["r2", "w2"] and slots["offered"] == []


def test_cancelling_an_offered_task_hands_its_slot_to_the_next_in_line(fs_client: Any) -> None:
    # Nothing else happens after the cancel: no new task, no other run ending. The slot the
    # cancelled task was offered must still reach the task waiting behind it.
    save_agent(fs_client, limits=AgentLimits(concurrency=10))
    for task_id in ("r1", "r2", "w1", "w2", "w3"):
        queued_task(fs_client, task_id, inputs=QUICK)
    for task_id in ("r1", "r2", "w1", "w2", "w3"):
        admit(fs_client, task_id)
    end_run(fs_client, "r1")
    release(fs_client, "u1", ["r1"])
    assert dispatched_task_ids(fs_client) == ["w1"]

    change_status(fs_client, "w1", TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)

    assert sorted(dispatched_task_ids(fs_client)) == ["w1", "w2"]
    slots = pool(fs_client)
    assert slots["waiting"] == ["w2", "w3"] and slots["offered"] == ["w2"]
    assert admit(fs_client, "w2").outcome is AdmissionOutcome.CLAIMED
    assert sorted(pool(fs_client)["running"]) == ["r2", "w2"]


def test_a_cancelled_waiting_task_leaves_every_line_it_waited_in(fs_client: Any) -> None:
    # The agent's one slot binds; the tasks name no agent, so the one chosen for them is
    # recorded when they join its line — the cancel finds that line through it.
    save_agent(fs_client, limits=AgentLimits(concurrency=1))
    queued_task(fs_client, "r1", inputs=QUICK)
    for task_id in ("w1", "w2"):
        queued_task(fs_client, task_id, inputs=QUICK, agent_id=None)
    for task_id in ("r1", "w1", "w2"):
        admit(fs_client, task_id)
    agent_pool = slots_ref(fs_client, agent_slots_id("coder"))
    assert agent_pool.get().get("waiting") == ["w1", "w2"]
    assert load(fs_client, "w1").agent_id == "coder"

    for task_id in ("w1", "w2"):
        change_status(fs_client, task_id, TaskStatus.CANCELLED, TransitionReason.USER_CANCEL)

    assert agent_pool.get().get("waiting") == []
    assert pool(fs_client)["waiting"] == []
    end_run(fs_client, "r1")
    release(fs_client, "u1", ["r1"])
    assert agent_pool.get().get("running") == [] and dispatched_task_ids(fs_client) == []
