"""Storing a run's reasoning in the memory graph (`agent_memory`).

A node per reasoning step (type `reasoning_step`), linked by a `next` edge to the previous step
(the first step to the task's node) and by a `part_of` edge to the task's node; the final answer
becomes an `output` node that dependents' runs read as context. Ids are deterministic
(domain.execution_graph), and writes are `set`s of the same content, so a step that a retried
transaction or a resumed attempt writes again does not duplicate anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aide.domain.agent_memory import MemoryEdge, MemoryEdgeType, MemoryNode, MemoryNodeType
from aide.domain.execution_graph import (
    MAX_STEP_CONTENT_BYTES,
    StepRecord,
    edge_id,
    output_node_id,
    step_node_id,
    task_node_id,
    truncate_utf8,
)
from aide.domain.tasks import Task

if TYPE_CHECKING:
    from aide.adapters.unit_of_work import UnitOfWork


def write_task_node(uow: UnitOfWork, task: Task, now: datetime) -> None:
    uow.memory_nodes.save(
        MemoryNode(
            id=task_node_id(task.id),
            user_id=task.user_id,
            task_id=task.id,
            agent_id=task.agent_id,
            type=MemoryNodeType.TASK,
            content=task.title,
            metadata={"description": truncate_utf8(task.description, 2048)},
            timestamp=now,
        )
    )


def write_step(
    uow: UnitOfWork, task: Task, step: StepRecord, metadata: dict[str, Any], now: datetime
) -> str:
    """The step's node and its two edges; returns the node id."""
    node_id = step_node_id(task.id, step.index)
    truncated = len(step.text.encode()) > MAX_STEP_CONTENT_BYTES
    uow.memory_nodes.save(
        MemoryNode(
            id=node_id,
            user_id=task.user_id,
            task_id=task.id,
            agent_id=task.agent_id,
            type=MemoryNodeType.REASONING_STEP,
            content=truncate_utf8(step.text, MAX_STEP_CONTENT_BYTES),
            metadata={
                **metadata,
                "promptTokens": step.prompt_tokens,
                "completionTokens": step.completion_tokens,
                "retries": step.retries,
                "truncated": truncated,
            },
            step_index=step.index,
            timestamp=now,
        )
    )
    previous = task_node_id(task.id) if step.index == 1 else step_node_id(task.id, step.index - 1)
    for source, target, kind in (
        (previous, node_id, MemoryEdgeType.NEXT),
        (node_id, task_node_id(task.id), MemoryEdgeType.PART_OF),
    ):
        uow.memory_edges.save(
            MemoryEdge(
                id=edge_id(source, target, str(kind)),
                user_id=task.user_id,
                task_id=task.id,
                source=source,
                target=target,
                type=kind,
                timestamp=now,
            )
        )
    return node_id


def write_output_node(
    uow: UnitOfWork, task: Task, content: str, metadata: dict[str, Any], now: datetime
) -> None:
    uow.memory_nodes.save(
        MemoryNode(
            id=output_node_id(task.id),
            user_id=task.user_id,
            task_id=task.id,
            agent_id=task.agent_id,
            type=MemoryNodeType.OUTPUT,
            content=truncate_utf8(content, MAX_STEP_CONTENT_BYTES),
            metadata=metadata,
            timestamp=now,
        )
    )
