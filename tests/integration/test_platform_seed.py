"""seed_platform against the Firestore emulator: idempotent, and respectful of later edits."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from aide.adapters.repositories import AgentRepository, PlansRepository
from aide.domain.agents import AgentProvider, AgentStatus
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
