"""agent_memory/{id}: the memory graph of agent reasoning — nodes and the edges between them."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now


class MemoryNodeType(StrEnum):
    TASK = "task"
    REASONING_STEP = "reasoning_step"
    OBSERVATION = "observation"
    OUTPUT = "output"


class MemoryEdgeType(StrEnum):
    NEXT = "next"  # step -> following step
    PART_OF = "part_of"  # step -> its task
    USES = "uses"  # task -> dependency output it read


class MemoryNode(DocumentModel):
    # Nodes and edges share one collection; `kind` tells them apart in queries.
    kind: Literal["node"] = "node"
    id: str
    user_id: str
    task_id: str
    agent_id: str | None = None
    type: MemoryNodeType
    content: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    step_index: int | None = Field(default=None, ge=0)
    timestamp: UtcDateTime = Field(default_factory=utc_now)


class MemoryEdge(DocumentModel):
    kind: Literal["edge"] = "edge"
    id: str
    user_id: str
    task_id: str
    source: str
    target: str
    type: MemoryEdgeType
    timestamp: UtcDateTime = Field(default_factory=utc_now)
