"""Reading the agent registry (agents are defined by the platform seed and the runtime)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aide.adapters.repositories import AgentRepository
from aide.domain.access import ResourceNotFound
from aide.domain.agents import Agent, AgentStatus

if TYPE_CHECKING:
    from google.cloud.firestore import Client

MAX_AGENTS_LISTED = 100


def list_agents(db: Client, status: AgentStatus | None = None) -> list[Agent]:
    agents = AgentRepository(db).find(status=status, limit=MAX_AGENTS_LISTED)
    return sorted(agents, key=lambda agent: agent.id)


def get_agent(db: Client, agent_id: str) -> Agent:
    agent = AgentRepository(db).get(agent_id)
    if agent is None:
        raise ResourceNotFound("Agent not found")
    return agent
