"""knowledge_graph documents: entities, relations, observations and per-scope totals share one
collection (`kind` tells them apart); every query filters on `scopeKey` first.

Embeddings are stored as Firestore vectors (google.cloud.firestore_v1.vector.Vector) so that
`find_nearest` can search them; the domain sees plain float lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
from google.cloud.firestore_v1.vector import Vector

from aide.adapters.repositories.base import Collection, Repository
from aide.domain import collections
from aide.domain.knowledge import (
    KnowledgeEntity,
    KnowledgeObservation,
    KnowledgeRelation,
    KnowledgeScopeStats,
)

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentSnapshot, Query, Transaction

    from aide.adapters.repositories.base import Writer

# Firestore's `in` takes at most 30 values.
IN_LIMIT = 30
EMBEDDING_FIELD = "embedding"
DISTANCE_FIELD = "vectorDistance"

KnowledgeDocument = KnowledgeEntity | KnowledgeRelation | KnowledgeObservation | KnowledgeScopeStats


def _with_vector(data: dict[str, Any]) -> dict[str, Any]:
    if data.get(EMBEDDING_FIELD) is not None:
        data[EMBEDDING_FIELD] = Vector(data[EMBEDDING_FIELD])
    return data


def stored_document(item: KnowledgeDocument) -> dict[str, Any]:
    """The document exactly as written (vectors included): what storage size is estimated from."""
    return _with_vector(item.to_document())


Embedded = TypeVar("Embedded", KnowledgeEntity, KnowledgeObservation)


class _VectorRepository(Repository[Embedded]):
    def document(self, item: Embedded) -> dict[str, Any]:
        return stored_document(item)


class KnowledgeEntityRepository(_VectorRepository[KnowledgeEntity]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeEntity


class KnowledgeRelationRepository(Repository[KnowledgeRelation]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeRelation


class KnowledgeObservationRepository(_VectorRepository[KnowledgeObservation]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeObservation


class KnowledgeScopeStatsRepository(Repository[KnowledgeScopeStats]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeScopeStats


class KnowledgeDocuments(Collection):
    """Writes of any kind of knowledge_graph document, vectors included (what a write that
    creates and deletes several kinds at once goes through)."""

    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH

    def create(self, item: KnowledgeDocument, *, writer: Writer | None = None) -> None:
        ref, chosen = self.ref(item.id), self._writer(writer)
        if chosen is None:
            ref.create(stored_document(item))
        else:
            chosen.create(ref, stored_document(item))


_MODELS: dict[str, type[KnowledgeDocument]] = {
    "entity": KnowledgeEntity,
    "relation": KnowledgeRelation,
    "observation": KnowledgeObservation,
    "scope": KnowledgeScopeStats,
}


def decode(snapshot: DocumentSnapshot) -> KnowledgeDocument | None:
    data = snapshot.to_dict() or {}
    model = _MODELS.get(str(data.get("kind")))
    return None if model is None else model.from_document(data)


@dataclass(frozen=True)
class NearestHit:
    document: KnowledgeEntity | KnowledgeObservation
    distance: float


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_LIMIT):
        yield values[start : start + IN_LIMIT]


class KnowledgeGraphQueries(Collection):
    """The reads of a scope that are queries rather than reads by id."""

    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH

    def _scoped(self, scope_key: str, kind: str | None = None) -> Query:
        query: Any = self.collection.where(filter=FieldFilter("scopeKey", "==", scope_key))
        if kind is not None:
            query = query.where(filter=FieldFilter("kind", "==", kind))
        return query  # type: ignore[no-any-return]

    def _run(self, query: Query, transaction: Transaction | None) -> Iterator[KnowledgeDocument]:
        for snapshot in query.stream(transaction=self._reader(transaction)):
            document = decode(snapshot)
            if document is not None:
                yield document

    def scope_documents(self, scope_key: str, limit: int) -> list[KnowledgeDocument]:
        return list(self._run(self._scoped(scope_key).limit(limit), None))

    def by_field_in(
        self,
        scope_key: str,
        kind: str,
        field: str,
        values: Iterable[str],
        transaction: Transaction | None = None,
        limit: int | None = None,
    ) -> list[KnowledgeDocument]:
        """Documents of `kind` whose `field` is among `values`; at most `limit` per 30 values."""
        found: dict[str, KnowledgeDocument] = {}
        for chunk in _chunks(sorted(set(values))):
            query = self._scoped(scope_key, kind).where(filter=FieldFilter(field, "in", chunk))
            if limit is not None:
                query = query.limit(limit)
            for document in self._run(query, transaction):
                found[document.id] = document
        return list(found.values())

    def observations_of(
        self, scope_key: str, entity_ids: Iterable[str], transaction: Transaction | None = None
    ) -> list[KnowledgeObservation]:
        documents = self.by_field_in(scope_key, "observation", "entityId", entity_ids, transaction)
        return [document for document in documents if isinstance(document, KnowledgeObservation)]

    def relations_touching(
        self,
        scope_key: str,
        entity_ids: Iterable[str],
        transaction: Transaction | None = None,
        limit: int | None = None,
    ) -> list[KnowledgeRelation]:
        """Relations (open or closed) with either end among `entity_ids`: all of them, or at
        most `limit` per end and 30 ids (reads for context stay bounded around hub entities)."""
        ids = list(entity_ids)
        found: dict[str, KnowledgeRelation] = {}
        for field in ("sourceId", "targetId"):
            documents = self.by_field_in(scope_key, "relation", field, ids, transaction, limit)
            for document in documents:
                if isinstance(document, KnowledgeRelation):
                    found[document.id] = document
        return list(found.values())

    def nearest(
        self,
        scope_key: str,
        vector: list[float],
        limit: int,
        entity_type: str | None = None,
    ) -> list[NearestHit]:
        """Entities and observations of the scope nearest to `vector` (COSINE), nearest first."""
        query: Any = self._scoped(scope_key)
        if entity_type is not None:
            query = query.where(filter=FieldFilter("entityType", "==", entity_type))
        vector_query = query.find_nearest(
            vector_field=EMBEDDING_FIELD,
            query_vector=Vector(vector),
            distance_measure=DistanceMeasure.COSINE,
            limit=limit,
            distance_result_field=DISTANCE_FIELD,
        )
        hits = []
        for snapshot in vector_query.stream():
            data = snapshot.to_dict() or {}
            distance = float(data.pop(DISTANCE_FIELD, 2.0))
            document = decode(snapshot)
            if isinstance(document, (KnowledgeEntity, KnowledgeObservation)):
                hits.append(NearestHit(document, distance))
        return hits

    def keyword_matches(
        self, scope_key: str, tokens: list[str], limit: int, entity_type: str | None = None
    ) -> list[KnowledgeEntity | KnowledgeObservation]:
        """Entities and observations holding any of `tokens` (at most 30) among their keywords."""
        if not tokens:
            return []
        query: Any = self._scoped(scope_key).where(
            filter=FieldFilter("keywords", "array_contains_any", tokens[:IN_LIMIT])
        )
        if entity_type is not None:
            query = query.where(filter=FieldFilter("entityType", "==", entity_type))
        return [
            document
            for document in self._run(query.limit(limit), None)
            if isinstance(document, (KnowledgeEntity, KnowledgeObservation))
        ]
