"""getContextForTask: what an agent is given to work on a task.

The task's own inputs, the outputs of the tasks it depends on (inline, or a reference when they
live in Cloud Storage), and relevant memory: the dependencies' output nodes and this task's own
reasoning steps already stored (a resumed attempt continues from them). Everything is read by
id in two round trips — no queries, so no indexes and a cost that does not grow with the
memory collection.

And the top knowledge hits (queryKnowledge, k=5) for the task's title and description: from the
task's project when it has one (the owner must still be able to read it), otherwise from the
owner's own knowledge — the scope the owner's project-less knowledge writes go to, so an agent
working outside projects still sees what its owner recorded. A scope with no entities (one read
of its running totals) is not searched, so tasks without knowledge never call the embedder.
Reads stay bounded by the search's own limits (candidates ≤ 20 per leg, 5 hits, the hits'
observations and ≤ 200 relations per end). Knowledge is an aid, not an input: if the search
fails the context says why (`knowledge.unavailable`) and the task goes on without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aide.adapters.repositories.agent_memory import MemoryNodeRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.access import ResourceNotFound
from aide.domain.execution_graph import GraphBuilder, output_node_id, step_node_id
from aide.domain.knowledge import KnowledgeQuery
from aide.domain.task_context import (
    KNOWLEDGE_HITS,
    DependencyContext,
    KnowledgeContext,
    TaskContext,
)
from aide.domain.tasks import Task
from aide.services.knowledge import resolve_scope, scope_stats
from aide.services.knowledge_search import query_knowledge
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.embeddings import Embedder

log = get_logger(__name__)

# The query text sent to the embedder: the title and the start of the description.
KNOWLEDGE_QUERY_CHARS = 2000


def knowledge_for_task(
    db: Client, task: Task, embedder: Embedder | None = None
) -> KnowledgeContext:
    """The task's knowledge context; never raises (a failure is logged and reported in it)."""
    text = f"{task.title}\n{task.description}".strip()[:KNOWLEDGE_QUERY_CHARS]
    try:
        scope = resolve_scope(db, task.user_id, task.project_id)
        if not text or scope_stats(db, scope).entity_count <= 0:
            return KnowledgeContext(project_id=task.project_id)
        if embedder is None:
            from aide.adapters.embeddings import get_embedder

            embedder = get_embedder()
        result = query_knowledge(
            db, embedder, scope, KnowledgeQuery(query=text, limit=KNOWLEDGE_HITS)
        )
    except ResourceNotFound:
        reason = "the task's project is gone or no longer readable by its owner"
    except Exception as error:
        reason = f"knowledge search failed: {type(error).__name__}"
        log.warning(
            "task %s: knowledge search failed; the context goes without it",
            task.id,
            exc_info=True,
            extra={"fields": {"taskId": task.id, "projectId": task.project_id}},
        )
    else:
        return KnowledgeContext.from_hits(task.project_id, result.hits, result.relations)
    return KnowledgeContext(project_id=task.project_id, unavailable=reason)


def get_context_for_task(
    db: Client, task: Task, *, probe_steps: int = 0, embedder: Embedder | None = None
) -> TaskContext:
    """`probe_steps`: also look for stored steps 1..probe_steps. A resumed attempt passes its
    step budget, because the task's executionGraph is written throttled and may lag behind the
    steps the memory graph already holds (those are the checkpoint). `embedder`: the one the
    knowledge search uses (default: the process-wide one, aide.adapters.embeddings)."""
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
        knowledge=knowledge_for_task(db, task, embedder),
    )
