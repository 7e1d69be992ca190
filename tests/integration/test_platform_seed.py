"""seed_platform against the Firestore emulator: idempotent, and respectful of later edits."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import firestore

from aide.adapters.repositories import AgentRepository, PlansRepository
from aide.domain import task_worker
from aide.domain.agents import (
    AgentLimits,
    AgentProvider,
    AgentStatus,
    InvalidAgentDefinition,
    validate_agent_definition,
)
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.services.platform_seed import BUILT_IN_AGENTS, seed_platform


def _snapshot(db: Any) -> dict[str, dict[str, Any]]:
    return {
        f"{name}/{doc.id}": doc.to_dict()
        for name in ("agents", "system_config")
        for doc in db.collection(name).stream()
    }


def test_seed_creates_built_in_agents_and_plans(fs_client: Any) -> None:
    seed_platform(fs_client)

    agents = {agent.id: agent for agent in AgentRepository(fs_client).find()}
    assert set(agents) == {"planner", "coder", "researcher", "reviewer"}
    for agent in agents.values():
        assert agent.provider is AgentProvider.SCRIPTED
        assert agent.model == "scripted-v1"
        assert agent.status is AgentStatus.IDLE
        assert agent.capabilities and agent.system_prompt and agent.built_in
    plans = PlansRepository(fs_client).load()
    assert plans.default_plan is PlanName.FREE
    assert plans.plans == DEFAULT_PLANS
    raw = fs_client.collection("system_config").document("plans").get().to_dict()
    assert raw["plans"]["pro"]["apiCallsPerDay"] == DEFAULT_PLANS[PlanName.PRO].api_calls_per_day


def test_seeding_twice_leaves_the_same_documents(fs_client: Any) -> None:
    seed_platform(fs_client)
    first = _snapshot(fs_client)
    seed_platform(fs_client)
    assert _snapshot(fs_client) == first
    assert len(first) == len(BUILT_IN_AGENTS) + 1


def test_seed_keeps_runtime_state_and_admin_edits_but_restores_definitions(fs_client: Any) -> None:
    seed_platform(fs_client)
    agents = AgentRepository(fs_client)
    agents.update("coder", {"status": "busy", "model": "stale-model"})
    fs_client.collection("system_config").document("plans").update({"plans.free.apiCallsPerDay": 5})
    fs_client.collection("system_config").document("plans").update(
        {"plans.enterprise": firestore.DELETE_FIELD}
    )

    seed_platform(fs_client)

    coder = agents.get("coder")
    assert coder is not None
    assert coder.status is AgentStatus.BUSY  # state is not the seed's to reset
    assert coder.model == "scripted-v1"  # the definition is
    plans = PlansRepository(fs_client).load()
    assert plans.plans[PlanName.FREE].api_calls_per_day == 5  # admin edit kept
    assert plans.plans[PlanName.ENTERPRISE] == DEFAULT_PLANS[PlanName.ENTERPRISE]  # re-added


def test_an_agent_whose_timeout_exceeds_the_task_workers_is_refused_and_nothing_written(
    fs_client: Any,
) -> None:
    too_long = BUILT_IN_AGENTS[1].model_copy(
        update={"limits": AgentLimits(timeout_seconds=task_worker.TIMEOUT_SECONDS)}
    )
    with pytest.raises(InvalidAgentDefinition, match=r"limits\.timeoutSeconds 540 exceeds 480"):
        seed_platform(fs_client, (BUILT_IN_AGENTS[0], too_long))
    assert _snapshot(fs_client) == {}


def test_every_built_in_agent_fits_in_the_task_workers_timeout() -> None:
    """Including `coder`, once 900 s against a 540 s worker."""
    import main

    declared = main.on_task_dispatched.__firebase_endpoint__.timeoutSeconds
    assert declared == task_worker.TIMEOUT_SECONDS
    for agent in BUILT_IN_AGENTS:
        assert agent.limits.timeout_seconds <= declared - task_worker.HEADROOM_SECONDS, agent.id
        assert validate_agent_definition(agent) is agent
