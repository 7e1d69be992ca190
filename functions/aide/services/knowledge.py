"""Writing project knowledge: the MCP memory server's write operations, scoped and atomic.

Each request is one unit of work (aide.adapters.unit_of_work): it reads what it must (entities
by id, open relations, the documents a cascade removes), then writes everything or nothing.
Dedup is a read by id (aide.domain.knowledge_graph derives ids from normalized content), so two
concurrent requests creating the same entity conflict in the transaction instead of both
succeeding.

Embeddings are computed on the write path, before the transaction (a retried transaction must not
call the model again), and stored with the documents: a document never exists without its vector.
Every write keeps the scope's running totals (`storageBytes` and counts) in the same transaction
and returns the bytes it added, for the quota layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from google.cloud import firestore

from aide.adapters.repositories.knowledge import (
    KnowledgeEntityRepository,
    KnowledgeScopeStatsRepository,
    stored_document,
)
from aide.adapters.repositories.projects import ProjectRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain import collections
from aide.domain.access import InsufficientPermissions
from aide.domain.document_size import document_bytes
from aide.domain.knowledge import (
    EntityInput,
    EntityView,
    KnowledgeEntity,
    KnowledgeObservation,
    KnowledgeRelation,
    KnowledgeScopeStats,
    ObservationsDeleteInput,
    ObservationsInput,
    RelationClose,
    RelationInput,
    RelationRef,
    RelationView,
    WriteResult,
    normalize_entity_name,
    scope_key_of,
)
from aide.domain.knowledge_graph import (
    closed_relation_id,
    entity_embedding_text,
    entity_id,
    keyword_tokens,
    normalize_relation_type,
    observation_embedding_text,
    observation_id,
    open_relation_id,
    scope_stats_id,
)
from aide.domain.timestamps import utc_now
from aide.services.projects import readable_project

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.embeddings import Embedder

Clock = Callable[[], datetime]
# Upper bounds reserved against the storage quota before a relation write (the exact delta is
# settled after the commit): a relation document with names and type at their maximum length,
# and what closing superseded relations may add (a closed copy is ~40 bytes larger).
RELATION_RESERVE_BYTES = 3000
CLOSE_RESERVE_BYTES = 64
SUPERSEDE_RESERVE_BYTES = 50 * CLOSE_RESERVE_BYTES


@dataclass(frozen=True)
class KnowledgeScope:
    """Whose knowledge: a user's own (project_id None) or a project's (owned by its owner)."""

    user_id: str
    project_id: str | None = None

    @property
    def key(self) -> str:
        return scope_key_of(self.user_id, self.project_id)


class InvalidKnowledgeInput(Exception):
    """Input that names what does not exist or cannot be; `details` say which field."""

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        self.message = message
        self.details = details
        super().__init__(message)


def resolve_scope(db: Client, uid: str, project_id: str | None) -> KnowledgeScope:
    """The scope `uid` works in: their own, or a project they may read (team members included).

    A project they may not read raises ResourceNotFound, exactly as a missing one.
    """
    if project_id is None:
        return KnowledgeScope(uid)
    project = readable_project(ProjectRepository(db), uid, project_id)
    # Project knowledge belongs to the project (its owner's storage), whoever of its members
    # wrote it.
    return KnowledgeScope(project.user_id, project.id)


def resolve_writable_scope(db: Client, uid: str, project_id: str | None) -> KnowledgeScope:
    """As resolve_scope, for a write: a project `uid` may read but not add to (someone else's
    public project) raises InsufficientPermissions."""
    if project_id is None:
        return KnowledgeScope(uid)
    project = readable_project(ProjectRepository(db), uid, project_id)
    if not project.can_contribute(uid):
        raise InsufficientPermissions(
            "This project's knowledge is read-only to you: only its owner and members change it"
        )
    return KnowledgeScope(project.user_id, project.id)


def relation_view(relation: KnowledgeRelation) -> RelationView:
    return RelationView.model_validate(
        {
            "from": relation.source_name,
            "to": relation.target_name,
            "relationType": relation.relation_type,
            "validFrom": relation.valid_from,
            "validTo": relation.valid_to,
        }
    )


def _path(doc_id: str) -> str:
    return f"{collections.KNOWLEDGE_GRAPH}/{doc_id}"


def stored_bytes(item: KnowledgeEntity | KnowledgeRelation | KnowledgeObservation) -> int:
    return document_bytes(_path(item.id), stored_document(item))


@dataclass
class ScopeWrites:
    """The writes of one unit of work to a scope, and what they change in the scope's totals."""

    uow: UnitOfWork
    scope: KnowledgeScope
    now: datetime
    storage_bytes: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"entityCount": 0, "relationCount": 0, "observationCount": 0}
    )

    _COUNTERS: ClassVar[dict[str, str]] = {
        "entity": "entityCount",
        "relation": "relationCount",
        "observation": "observationCount",
    }

    def create(self, item: KnowledgeEntity | KnowledgeRelation | KnowledgeObservation) -> None:
        self.uow.knowledge_documents.create(item)
        self.storage_bytes += stored_bytes(item)
        self.counts[self._COUNTERS[item.kind]] += 1

    def delete(self, item: KnowledgeEntity | KnowledgeRelation | KnowledgeObservation) -> None:
        self.uow.knowledge_documents.delete(item.id)
        self.storage_bytes -= stored_bytes(item)
        self.counts[self._COUNTERS[item.kind]] -= 1

    def commit_totals(self) -> None:
        if self.storage_bytes == 0 and not any(self.counts.values()):
            return
        stats = KnowledgeScopeStats(
            id=scope_stats_id(self.scope.key),
            user_id=self.scope.user_id,
            project_id=self.scope.project_id,
            scope_key=self.scope.key,
            updated_at=self.now,
        )
        fields: dict[str, Any] = stats.model_dump(
            mode="python",
            by_alias=True,
            exclude_none=True,
            include={"kind", "id", "user_id", "project_id", "scope_key", "updated_at"},
        )
        fields["storageBytes"] = firestore.Increment(self.storage_bytes)
        for name, delta in self.counts.items():
            fields[name] = firestore.Increment(delta)
        self.uow.knowledge_documents.merge(stats.id, fields)


class StorageBudget(Protocol):
    """Where a write's bytes are charged (aide.services.knowledge_quota for the user's quota).

    `reserve` runs before the transaction with an upper bound and may refuse (raise); after the
    commit `settle` charges the difference to the exact delta, after a failure `release` gives
    the reservation back.
    """

    def reserve(self, max_bytes: int) -> None: ...

    def settle(self, reserved: int, actual: int) -> None: ...

    def release(self, reserved: int) -> None: ...


def _run(
    db: Client,
    work: Callable[[UnitOfWork], WriteResult],
    budget: StorageBudget | None = None,
    reserve: int = 0,
) -> WriteResult:
    reserved = reserve if budget is not None and reserve > 0 else 0
    if budget is not None and reserved:
        budget.reserve(reserved)
    try:
        result = run_in_transaction(db, work)
    except BaseException:
        if budget is not None and reserved:
            budget.release(reserved)
        raise
    if budget is not None:
        budget.settle(reserved, result.storage_bytes_delta)
    return result


def _embeddings(embedder: Embedder, texts: list[str]) -> dict[str, list[float]]:
    unique = list(dict.fromkeys(texts))
    return dict(zip(unique, embedder.embed(unique), strict=True)) if unique else {}


def _new_observation(
    scope: KnowledgeScope,
    entity: KnowledgeEntity,
    content: str,
    vectors: dict[str, list[float]],
    embedder: Embedder,
    now: datetime,
) -> KnowledgeObservation:
    return KnowledgeObservation(
        id=observation_id(entity.id, content),
        user_id=scope.user_id,
        project_id=scope.project_id,
        scope_key=scope.key,
        entity_id=entity.id,
        entity_name=entity.name,
        entity_type=entity.entity_type,
        content=content,
        keywords=keyword_tokens(entity.name, content),
        embedding=vectors[observation_embedding_text(entity.name, content)],
        embedding_model=embedder.name,
        created_at=now,
    )


def create_entities(
    db: Client,
    embedder: Embedder,
    scope: KnowledgeScope,
    entities: list[EntityInput],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Creates the entities whose normalized name is new in the scope, with their observations.

    An existing entity is skipped whole (MCP memory's rule); so is a repeat within the request.
    """
    wanted: dict[str, EntityInput] = {}
    for item in entities:
        wanted.setdefault(entity_id(scope.key, item.name), item)
    texts = []
    for item in wanted.values():
        texts.append(entity_embedding_text(item.name, item.entity_type))
        texts.extend(
            observation_embedding_text(item.name, content) for content in item.observations
        )
    vectors = _embeddings(embedder, texts)
    moment = now()
    # Built once, before the transaction: a retried transaction writes exactly the same documents.
    planned: dict[str, tuple[KnowledgeEntity, list[KnowledgeObservation]]] = {}
    for doc_id, item in wanted.items():
        entity = KnowledgeEntity(
            id=doc_id,
            user_id=scope.user_id,
            project_id=scope.project_id,
            scope_key=scope.key,
            name=item.name,
            normalized_name=normalize_entity_name(item.name),
            entity_type=item.entity_type,
            metadata=item.metadata,
            keywords=keyword_tokens(item.name, item.entity_type),
            embedding=vectors[entity_embedding_text(item.name, item.entity_type)],
            embedding_model=embedder.name,
            created_at=moment,
            updated_at=moment,
        )
        observations: dict[str, KnowledgeObservation] = {}
        for content in item.observations:
            observation = _new_observation(scope, entity, content, vectors, embedder, moment)
            observations.setdefault(observation.id, observation)
        planned[doc_id] = (entity, list(observations.values()))
    most = sum(
        stored_bytes(entity) + sum(stored_bytes(o) for o in observations)
        for entity, observations in planned.values()
    )

    def work(uow: UnitOfWork) -> WriteResult:
        unit = ScopeWrites(uow, scope, moment)
        existing = {
            entity.id
            for entity in uow.knowledge_entities.get_many(list(planned))
        }
        created: list[EntityView] = []
        for doc_id, (entity, observations) in planned.items():
            if doc_id in existing:
                continue
            unit.create(entity)
            for observation in observations:
                unit.create(observation)
            created.append(
                EntityView(
                    name=entity.name,
                    entity_type=entity.entity_type,
                    observations=[observation.content for observation in observations],
                    metadata=entity.metadata,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        unit.commit_totals()
        return WriteResult(
            entities=created,
            skipped=len(entities) - len(created),
            storage_bytes_delta=unit.storage_bytes,
        )

    return _run(db, work, budget, most)


def _unknown(field_path: str, name: str) -> dict[str, str]:
    return {"field": field_path, "message": f"no entity named {name!r}", "type": "unknown_entity"}


def add_observations(
    db: Client,
    embedder: Embedder,
    scope: KnowledgeScope,
    items: list[ObservationsInput],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Adds observations to existing entities; ones the entity already has are skipped."""
    entity_repository = KnowledgeEntityRepository(db)
    ids = [entity_id(scope.key, item.entity_name) for item in items]
    known = {entity.id: entity for entity in entity_repository.get_many(list(set(ids)))}
    missing = [
        _unknown(f"observations.{index}.entityName", item.entity_name)
        for index, (item, doc_id) in enumerate(zip(items, ids, strict=True))
        if doc_id not in known
    ]
    if missing:
        raise InvalidKnowledgeInput("Unknown entities", missing)
    vectors = _embeddings(
        embedder,
        [
            observation_embedding_text(known[doc_id].name, content)
            for item, doc_id in zip(items, ids, strict=True)
            for content in item.contents
        ],
    )
    moment = now()
    candidates: dict[str, KnowledgeObservation] = {}
    for item, doc_id in zip(items, ids, strict=True):
        for content in item.contents:
            observation = _new_observation(scope, known[doc_id], content, vectors, embedder, moment)
            candidates.setdefault(observation.id, observation)
    most = sum(stored_bytes(observation) for observation in candidates.values())

    def work(uow: UnitOfWork) -> WriteResult:
        unit = ScopeWrites(uow, scope, moment)
        entities = {
            entity.id: entity
            for entity in uow.knowledge_entities.get_many(list(known))
        }
        if len(entities) != len(known):
            # Deleted since the first read: the request names entities that no longer exist.
            gone = [
                _unknown(f"observations.{index}.entityName", item.entity_name)
                for index, (item, doc_id) in enumerate(zip(items, ids, strict=True))
                if doc_id not in entities
            ]
            raise InvalidKnowledgeInput("Unknown entities", gone)
        existing = {
            observation.id
            for observation in uow.knowledge_observations.get_many(list(candidates))
        }
        added: dict[str, list[str]] = {}
        for observation in candidates.values():
            if observation.id in existing:
                continue
            unit.create(observation)
            added.setdefault(observation.entity_name, []).append(observation.content)
        unit.commit_totals()
        requested = sum(len(item.contents) for item in items)
        return WriteResult(
            observations=[
                {
                    "entityName": entities[doc_id].name,
                    "addedObservations": added.get(entities[doc_id].name, []),
                }
                for doc_id in dict.fromkeys(ids)
            ],
            skipped=requested - sum(len(contents) for contents in added.values()),
            storage_bytes_delta=unit.storage_bytes,
        )

    return _run(db, work, budget, most)


def delete_entities(
    db: Client,
    scope: KnowledgeScope,
    names: list[str],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Deletes the named entities with their observations and every relation touching them
    (open or closed). Names that do not exist are ignored, as in MCP memory."""
    ids = list(dict.fromkeys(entity_id(scope.key, name) for name in names))

    def work(uow: UnitOfWork) -> WriteResult:
        unit = ScopeWrites(uow, scope, now())
        entities = uow.knowledge_entities.get_many(ids)
        found = [entity.id for entity in entities]
        observations = uow.knowledge_queries.observations_of(scope.key, found) if found else []
        relations = uow.knowledge_queries.relations_touching(scope.key, found) if found else []
        doomed: list[KnowledgeEntity | KnowledgeRelation | KnowledgeObservation] = [
            *relations,
            *observations,
            *entities,
        ]
        for item in doomed:
            unit.delete(item)
        unit.commit_totals()
        return WriteResult(
            deleted=len(entities) + len(observations) + len(relations),
            storage_bytes_delta=unit.storage_bytes,
        )

    return _run(db, work, budget)


def delete_observations(
    db: Client,
    scope: KnowledgeScope,
    deletions: list[ObservationsDeleteInput],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Deletes the named observations; ones that do not exist are ignored."""
    ids = list(
        dict.fromkeys(
            observation_id(entity_id(scope.key, item.entity_name), content)
            for item in deletions
            for content in item.observations
        )
    )

    def work(uow: UnitOfWork) -> WriteResult:
        unit = ScopeWrites(uow, scope, now())
        found = uow.knowledge_observations.get_many(ids)
        for observation in found:
            unit.delete(observation)
        unit.commit_totals()
        return WriteResult(deleted=len(found), storage_bytes_delta=unit.storage_bytes)

    return _run(db, work, budget)


def _endpoint_ids(
    scope: KnowledgeScope, refs: list[RelationRef] | list[RelationInput] | list[RelationClose]
) -> list[tuple[str, str]]:
    return [(entity_id(scope.key, ref.source), entity_id(scope.key, ref.target)) for ref in refs]


def create_relations(
    db: Client,
    scope: KnowledgeScope,
    relations: list[RelationInput],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Creates relations between existing entities; an identical open relation is skipped.

    `supersede` closes the source's other open relations of the same type at the new relation's
    `validFrom` (they stay readable "as of" an earlier time).
    """
    endpoints = _endpoint_ids(scope, relations)

    def work(uow: UnitOfWork) -> WriteResult:
        moment = now()
        unit = ScopeWrites(uow, scope, moment)
        entity_ids = list({doc_id for pair in endpoints for doc_id in pair})
        entities = {
            entity.id: entity
            for entity in uow.knowledge_entities.get_many(entity_ids)
        }
        missing = []
        for index, (item, (source_id, target_id)) in enumerate(
            zip(relations, endpoints, strict=True)
        ):
            if source_id not in entities:
                missing.append(_unknown(f"relations.{index}.from", item.source))
            if target_id not in entities:
                missing.append(_unknown(f"relations.{index}.to", item.target))
        if missing:
            raise InvalidKnowledgeInput("Unknown entities", missing)
        candidates: dict[str, KnowledgeRelation] = {}
        superseding: list[KnowledgeRelation] = []
        for item, (source_id, target_id) in zip(relations, endpoints, strict=True):
            relation = KnowledgeRelation(
                id=open_relation_id(scope.key, source_id, item.relation_type, target_id),
                user_id=scope.user_id,
                project_id=scope.project_id,
                scope_key=scope.key,
                source_id=source_id,
                target_id=target_id,
                source_name=entities[source_id].name,
                target_name=entities[target_id].name,
                relation_type=item.relation_type,
                valid_from=item.valid_from or moment,
                created_at=moment,
            )
            if relation.id not in candidates:
                candidates[relation.id] = relation
                if item.supersede:
                    superseding.append(relation)
        existing = {
            relation.id
            for relation in uow.knowledge_relations.get_many(list(candidates))
        }
        outgoing = (
            uow.knowledge_queries.by_field_in(
                scope.key, "relation", "sourceId", {r.source_id for r in superseding}
            )
            if superseding
            else []
        )
        closed: dict[str, KnowledgeRelation] = {}
        for new in superseding:
            if new.id in existing:
                continue
            for old in outgoing:
                if (
                    isinstance(old, KnowledgeRelation)
                    and old.valid_to is None
                    and old.source_id == new.source_id
                    and old.target_id != new.target_id
                    and normalize_relation_type(old.relation_type)
                    == normalize_relation_type(new.relation_type)
                    and old.id not in closed
                ):
                    closed[old.id] = old
                    _close(unit, old, max(new.valid_from, old.valid_from))
        created = []
        for relation in candidates.values():
            if relation.id in existing:
                continue
            unit.create(relation)
            created.append(relation_view(relation))
        unit.commit_totals()
        return WriteResult(
            relations=created,
            skipped=len(relations) - len(created),
            storage_bytes_delta=unit.storage_bytes,
        )

    most = sum(
        RELATION_RESERVE_BYTES + (SUPERSEDE_RESERVE_BYTES if item.supersede else 0)
        for item in relations
    )
    return _run(db, work, budget, most)


def _close(unit: ScopeWrites, relation: KnowledgeRelation, valid_to: datetime) -> KnowledgeRelation:
    """Moves an open relation to its closed id with `valid_to` set: history, not deletion."""
    closed = relation.model_copy(
        update={"id": closed_relation_id(relation.id, relation.valid_from), "valid_to": valid_to}
    )
    unit.delete(relation)
    unit.create(closed)
    return closed


def close_relations(
    db: Client,
    scope: KnowledgeScope,
    relations: list[RelationClose],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Ends open relations at `validTo` (default now); relations not open are skipped."""
    endpoints = _endpoint_ids(scope, relations)
    ids = [
        open_relation_id(scope.key, source_id, item.relation_type, target_id)
        for item, (source_id, target_id) in zip(relations, endpoints, strict=True)
    ]

    def work(uow: UnitOfWork) -> WriteResult:
        moment = now()
        unit = ScopeWrites(uow, scope, moment)
        open_relations = {
            relation.id: relation
            for relation in uow.knowledge_relations.get_many(list(set(ids)))
        }
        problems = []
        ends: dict[str, datetime] = {}
        for index, (item, doc_id) in enumerate(zip(relations, ids, strict=True)):
            relation = open_relations.get(doc_id)
            if relation is None or doc_id in ends:
                continue
            valid_to = item.valid_to or moment
            if valid_to <= relation.valid_from:
                problems.append(
                    {
                        "field": f"relations.{index}.validTo",
                        "message": "must be later than the relation's validFrom",
                        "type": "invalid_interval",
                    }
                )
            ends[doc_id] = valid_to
        if problems:
            raise InvalidKnowledgeInput("Invalid validity interval", problems)
        closed = [_close(unit, open_relations[doc_id], end) for doc_id, end in ends.items()]
        unit.commit_totals()
        return WriteResult(
            relations=[relation_view(relation) for relation in closed],
            skipped=len(relations) - len(closed),
            storage_bytes_delta=unit.storage_bytes,
        )

    return _run(db, work, budget, CLOSE_RESERVE_BYTES * len(relations))


def delete_relations(
    db: Client,
    scope: KnowledgeScope,
    relations: list[RelationRef],
    *,
    budget: StorageBudget | None = None,
    now: Clock = utc_now,
) -> WriteResult:
    """Deletes open relations outright (MCP memory's delete); closed history stays."""
    ids = list(
        dict.fromkeys(
            open_relation_id(scope.key, source_id, item.relation_type, target_id)
            for item, (source_id, target_id) in zip(
                relations, _endpoint_ids(scope, relations), strict=True
            )
        )
    )

    def work(uow: UnitOfWork) -> WriteResult:
        unit = ScopeWrites(uow, scope, now())
        found = uow.knowledge_relations.get_many(ids)
        for relation in found:
            unit.delete(relation)
        unit.commit_totals()
        return WriteResult(deleted=len(found), storage_bytes_delta=unit.storage_bytes)

    return _run(db, work, budget)


def scope_stats(db: Client, scope: KnowledgeScope) -> KnowledgeScopeStats:
    """The scope's running totals (zeros before its first write): what quotas read."""
    stats = KnowledgeScopeStatsRepository(db).get(scope_stats_id(scope.key))
    return stats or KnowledgeScopeStats(
        id=scope_stats_id(scope.key),
        user_id=scope.user_id,
        project_id=scope.project_id,
        scope_key=scope.key,
    )
