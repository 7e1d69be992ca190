"""The context an agent is given for a task (the seed's getContextForTask), as data."""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field

from aide.domain.agent_memory import MemoryNode
from aide.domain.base import DocumentModel
from aide.domain.execution_graph import summarize
from aide.domain.knowledge import KnowledgeHit, RelationView
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import StoredOutput


class DependencyContext(DocumentModel):
    task_id: str
    title: str
    status: TaskStatus
    outputs: dict[str, Any] | None = None
    output_ref: StoredOutput | None = None


# What of each knowledge hit reaches the prompt: enough to be useful, bounded whatever the graph.
KNOWLEDGE_HITS: Final = 5
OBSERVATIONS_PER_HIT: Final = 3
OBSERVATION_SNIPPET_CHARS: Final = 300
KNOWLEDGE_RELATIONS: Final = 20


class KnowledgeItem(DocumentModel):
    """One knowledge hit as an agent sees it: the entity and a few of its observations."""

    name: str
    entity_type: str
    score: float
    observations: list[str] = Field(default_factory=list)
    """The best-matching observation first, then the oldest ones; snippets, not whole texts."""


class KnowledgeContext(DocumentModel):
    """The top knowledge hits for the task, from its project's knowledge, or from the owner's own
    knowledge when the task has no project."""

    project_id: str | None = None
    items: list[KnowledgeItem] = Field(default_factory=list)
    relations: list[RelationView] = Field(default_factory=list)
    """Relations valid now among the items."""
    unavailable: str | None = None
    """Why knowledge could not be searched (the task runs without it), when it could not."""

    @classmethod
    def from_hits(
        cls, project_id: str | None, hits: list[KnowledgeHit], relations: list[RelationView]
    ) -> KnowledgeContext:
        items = []
        for hit in hits[:KNOWLEDGE_HITS]:
            matched = hit.matched_observation
            ordered = ([matched] if matched else []) + [
                text for text in hit.entity.observations if text != matched
            ]
            items.append(
                KnowledgeItem(
                    name=hit.entity.name,
                    entity_type=hit.entity.entity_type,
                    score=hit.score,
                    observations=[
                        summarize(text, OBSERVATION_SNIPPET_CHARS)
                        for text in ordered[:OBSERVATIONS_PER_HIT]
                    ],
                )
            )
        names = {item.name for item in items}
        among = [r for r in relations if r.source in names and r.target in names]
        return cls(project_id=project_id, items=items, relations=among[:KNOWLEDGE_RELATIONS])

    def prompt_section(self) -> str | None:
        """The knowledge as a section of the task prompt; None when there is none."""
        if not self.items:
            return None
        lines = ["Relevant knowledge:"]
        for item in self.items:
            facts = "; ".join(item.observations)
            lines.append(f"- {item.name} ({item.entity_type})" + (f": {facts}" if facts else ""))
        lines += [f"- {r.source} {r.relation_type} {r.target}" for r in self.relations]
        return "\n".join(lines)


class TaskContext(DocumentModel):
    """GET /tasks/{id}/context."""

    task_id: str
    title: str
    description: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[DependencyContext] = Field(default_factory=list)
    memory: list[MemoryNode] = Field(default_factory=list)
    """Dependencies' output nodes, then this task's stored reasoning steps in order."""
    knowledge: KnowledgeContext = Field(default_factory=KnowledgeContext)

    def completed_steps(self) -> list[MemoryNode]:
        own = [node for node in self.memory if node.task_id == self.task_id and node.step_index]
        return sorted(own, key=lambda node: node.step_index or 0)


class TaskContextView(DocumentModel):
    context: TaskContext
