"""getContextForTask: what an agent is given to work on a task.

The task's own inputs, the outputs of the tasks it depends on (inline, or a reference when they
live in Cloud Storage), and relevant memory: the dependencies' output nodes and this task's own
reasoning steps already stored (a resumed attempt continues from them). Everything is read by
id in two round trips — no queries, so no indexes and a cost that does not grow with the
memory collection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aide.adapters.repositories.agent_memory import MemoryNodeRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.execution_graph import GraphBuilder, output_node_id, step_node_id
from aide.domain.task_context import DependencyContext, TaskContext
from aide.domain.tasks import Task

if TYPE_CHECKING:
    from google.cloud.firestore import Client


def get_context_for_task(db: Client, task: Task, *, probe_steps: int = 0) -> TaskContext:
    """`probe_steps`: also look for stored steps 1..probe_steps. A resumed attempt passes its
    step budget, because the task's executionGraph is written throttled and may lag behind the
    steps the memory graph already holds (those are the checkpoint)."""
    dependencies = TaskRepository(db).get_many(list(task.dependencies))
    memory_ids = [output_node_id(dependency) for dependency in task.dependencies]
    step_indexes = set(range(1, probe_steps + 1))
    if task.execution_graph is not None:
        step_indexes |= set(GraphBuilder.resume(task.id, task.execution_graph).completed_steps())
    memory_ids += [step_node_id(task.id, index) for index in sorted(step_indexes)]
    memory = MemoryNodeRepository(db).get_many(memory_ids)
    return TaskContext(
        task_id=task.id,
        title=task.title,
        description=task.description,
        inputs=task.inputs,
        dependencies=[
            DependencyContext(
                task_id=dependency.id,
                title=dependency.title,
                status=dependency.status,
                outputs=dependency.outputs,
                output_ref=dependency.output_ref,
            )
            for dependency in dependencies
        ],
        memory=memory,
    )
