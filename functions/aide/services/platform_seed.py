"""What a fresh platform needs before its first request: built-in agents and plans.

Idempotent: running it again writes nothing unless a built-in agent's definition changed in code
(then only the definition fields are brought up to date; status and history are left alone).
Plans an admin edited are never overwritten; plans missing from system_config are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.agents import Agent, AgentLimits, AgentProvider, validate_agent_definition
from aide.domain.system_config import PLANS_DOCUMENT_ID, default_plans_config
from aide.domain.timestamps import utc_now

if TYPE_CHECKING:
    from google.cloud.firestore import Client

SCRIPTED_MODEL: Final = "scripted-v1"

BUILT_IN_AGENTS: Final[tuple[Agent, ...]] = (
    Agent(
        id="planner",
        name="Planner",
        description="Breaks a goal into ordered, dependent tasks.",
        capabilities=["planning", "decomposition", "estimation"],
        provider=AgentProvider.SCRIPTED,
        model=SCRIPTED_MODEL,
        system_prompt=(
            "You are a planning agent. Break the user's goal into small, verifiable tasks, "
            "state the dependencies between them, and estimate each one."
        ),
        limits=AgentLimits(timeout_seconds=300, max_steps=10, concurrency=4),
        built_in=True,
    ),
    Agent(
        id="coder",
        name="Coder",
        description="Writes, refactors and debugs code.",
        capabilities=["coding", "refactoring", "debugging", "testing"],
        provider=AgentProvider.SCRIPTED,
        model=SCRIPTED_MODEL,
        system_prompt=(
            "You are a coding agent. Produce working, tested code for the task, explain the "
            "changes briefly, and report anything you could not finish."
        ),
        limits=AgentLimits(timeout_seconds=480, max_steps=30, concurrency=4),
        built_in=True,
    ),
    Agent(
        id="researcher",
        name="Researcher",
        description="Gathers, compares and summarises information.",
        capabilities=["research", "analysis", "summarization"],
        provider=AgentProvider.SCRIPTED,
        model=SCRIPTED_MODEL,
        system_prompt=(
            "You are a research agent. Find the relevant facts for the task, cite where each "
            "comes from, and summarise what they mean for the user's goal."
        ),
        limits=AgentLimits(timeout_seconds=480, max_steps=20, concurrency=4),
        built_in=True,
    ),
    Agent(
        id="reviewer",
        name="Reviewer",
        description="Reviews work for correctness, quality and risk.",
        capabilities=["review", "quality", "security"],
        provider=AgentProvider.SCRIPTED,
        model=SCRIPTED_MODEL,
        system_prompt=(
            "You are a review agent. Check the work against the task's requirements, list "
            "defects by severity, and suggest concrete fixes."
        ),
        limits=AgentLimits(timeout_seconds=300, max_steps=10, concurrency=4),
        built_in=True,
    ),
)

# Fields owned by the code's definition of a built-in agent; the rest (status, createdAt) is state.
_DEFINITION_FIELDS: Final = (
    "name",
    "description",
    "capabilities",
    "provider",
    "model",
    "systemPrompt",
    "limits",
    "builtIn",
)


def _definition(document: dict[str, Any]) -> dict[str, Any]:
    return {field: document.get(field) for field in _DEFINITION_FIELDS}


def seed_platform(db: Client, built_in_agents: Sequence[Agent] = BUILT_IN_AGENTS) -> None:
    """InvalidAgentDefinition, before anything is written, if an agent cannot run as defined."""
    for agent in built_in_agents:
        validate_agent_definition(agent)

    def apply(uow: UnitOfWork) -> None:
        agents, plans = uow.agents, uow.plans
        agent_refs = [agents.ref(agent.id) for agent in built_in_agents]
        plans_ref = plans.ref(PLANS_DOCUMENT_ID)
        snapshots = {
            snapshot.reference.path: snapshot
            for snapshot in uow.get_all([*agent_refs, plans_ref])
        }
        now = utc_now()
        for agent, ref in zip(built_in_agents, agent_refs, strict=True):
            wanted = agent.model_copy(update={"created_at": now, "updated_at": now})
            snapshot = snapshots.get(ref.path)
            if snapshot is None or not snapshot.exists:
                agents.create(wanted)
                continue
            definition = _definition(wanted.to_document())
            if _definition(snapshot.to_dict() or {}) != definition:
                agents.update(agent.id, {**definition, "updatedAt": now})

        plans_snapshot = snapshots.get(plans_ref.path)
        defaults = default_plans_config().model_copy(update={"updated_at": now})
        if plans_snapshot is None or not plans_snapshot.exists:
            plans.create(defaults)
            return
        stored = plans.from_snapshot(plans_snapshot)
        missing = {
            f"plans.{name}": plan.to_document()
            for name, plan in defaults.plans.items()
            if name not in stored.plans
        }
        if missing:
            plans.update(PLANS_DOCUMENT_ID, {**missing, "updatedAt": now})

    run_in_transaction(db, apply)
