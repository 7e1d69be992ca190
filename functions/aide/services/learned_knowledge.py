"""Agents write what they learn: a completed task's `learned` facts into its knowledge scope.

Through the same knowledge service as the API (dedup, embeddings on write, storage totals), in
the scope the task's context reads from: its project, or its owner's own knowledge. New entities
are created with their observations; for entities the scope already knows, the observations are
added. Idempotent by task: documents are keyed by content (a repeat writes nothing) and the
storage quota is charged under keys derived from the task id, so a re-run charges nothing again.
Learning is best effort: any failure (quota, a deleted project, the embedder) is logged as a
WARNING and the task's own result stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aide.domain.knowledge import ObservationsInput
from aide.domain.learned_knowledge import parse_learned
from aide.domain.tasks import Task
from aide.services.knowledge import add_observations, create_entities, resolve_scope
from aide.services.knowledge_quota import QuotaStorageBudget
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.embeddings import Embedder

log = get_logger(__name__)


@dataclass(frozen=True)
class LearningReport:
    entities_created: int = 0
    observations_added: int = 0
    problem: str | None = None


def learn_from_task(
    db: Client, task: Task, final_text: str, *, embedder: Embedder | None = None
) -> LearningReport:
    facts = parse_learned(final_text)
    fields = {"taskId": task.id, "projectId": task.project_id}
    if facts.problem is not None:
        log.warning(
            "task %s: learned block partly unusable: %s",
            task.id,
            facts.problem,
            extra={"fields": fields},
        )
    if not facts.entities:
        return LearningReport(problem=facts.problem)
    entities = [
        item.model_copy(update={"metadata": {**item.metadata, "learnedFromTask": task.id}})
        for item in facts.entities
    ]
    try:
        if embedder is None:
            from aide.adapters.embeddings import get_embedder

            embedder = get_embedder()
        scope = resolve_scope(db, task.user_id, task.project_id)
        created = create_entities(
            db,
            embedder,
            scope,
            entities,
            budget=QuotaStorageBudget(db, scope.user_id, key=f"learned-{task.id}-entities"),
        )
        with_observations = [
            ObservationsInput(entity_name=item.name, contents=item.observations)
            for item in entities
            if item.observations
        ]
        added = 0
        if with_observations:
            result = add_observations(
                db,
                embedder,
                scope,
                with_observations,
                budget=QuotaStorageBudget(db, scope.user_id, key=f"learned-{task.id}-observations"),
            )
            added = sum(len(item["addedObservations"]) for item in result.observations)
    except Exception as error:
        log.warning(
            "task %s: could not write what the agent learned",
            task.id,
            exc_info=True,
            extra={"fields": fields},
        )
        return LearningReport(problem=f"{type(error).__name__}: {error}")
    log.info(
        "task %s: agent learned %d entities, %d observations",
        task.id,
        len(created.entities),
        added,
        extra={"fields": fields},
    )
    return LearningReport(len(created.entities), added, facts.problem)
