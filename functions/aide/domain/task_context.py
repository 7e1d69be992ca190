"""The context an agent is given for a task (the seed's getContextForTask), as data."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aide.domain.agent_memory import MemoryNode
from aide.domain.base import DocumentModel
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import StoredOutput


class DependencyContext(DocumentModel):
    task_id: str
    title: str
    status: TaskStatus
    outputs: dict[str, Any] | None = None
    output_ref: StoredOutput | None = None


class TaskContext(DocumentModel):
    """GET /tasks/{id}/context."""

    task_id: str
    title: str
    description: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[DependencyContext] = Field(default_factory=list)
    memory: list[MemoryNode] = Field(default_factory=list)
    """Dependencies' output nodes, then this task's stored reasoning steps in order."""

    def completed_steps(self) -> list[MemoryNode]:
        own = [node for node in self.memory if node.task_id == self.task_id and node.step_index]
        return sorted(own, key=lambda node: node.step_index or 0)


class TaskContextView(DocumentModel):
    context: TaskContext
