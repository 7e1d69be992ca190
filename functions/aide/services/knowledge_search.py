"""Reading project knowledge: read graph, search nodes, open nodes, and queryKnowledge.

queryKnowledge is hybrid retrieval in the manner of Graphiti: Firestore vector search
(`find_nearest`, COSINE, pre-filtered on the scope) over entities and observations, plus a keyword
match on their word tokens, fused per entity (aide.domain.knowledge_graph.fuse_scores), optionally
reranked by graph distance from a focal entity, then the relations among the hits and a bounded
k-hop neighbourhood for context. Relations are read "as of" a moment (default now).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from aide.adapters.repositories.knowledge import (
    KnowledgeEntityRepository,
    KnowledgeGraphQueries,
)
from aide.domain.knowledge import (
    EntityView,
    GraphView,
    KnowledgeEntity,
    KnowledgeHit,
    KnowledgeObservation,
    KnowledgeQuery,
    KnowledgeRelation,
    QueryResult,
)
from aide.domain.knowledge_graph import (
    MAX_QUERY_KEYWORDS,
    cosine_similarity_from_distance,
    entity_id,
    fuse_scores,
    keyword_score,
    keyword_tokens,
)
from aide.domain.timestamps import utc_now
from aide.services.knowledge import KnowledgeScope, relation_view, resolve_scope

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.embeddings import Embedder

# Bounds that keep every read proportional to the answer, not to the size of the graph.
MAX_GRAPH_DOCUMENTS = 5000
MAX_SEARCH_CANDIDATES = 500
MAX_CANDIDATES = 100
FOCUS_MAX_HOPS = 3
MAX_NEIGHBOURHOOD = 50
MAX_FRONTIER = 120
# Relations read per end and per 30 entities when gathering context (not when deleting).
MAX_CONTEXT_RELATIONS = 200


def entity_views(
    entities: Iterable[KnowledgeEntity], observations: Iterable[KnowledgeObservation]
) -> list[EntityView]:
    by_entity: dict[str, list[KnowledgeObservation]] = {}
    for observation in observations:
        by_entity.setdefault(observation.entity_id, []).append(observation)
    return [
        EntityView(
            name=entity.name,
            entity_type=entity.entity_type,
            observations=[
                observation.content
                for observation in sorted(
                    by_entity.get(entity.id, []), key=lambda item: (item.created_at, item.id)
                )
            ],
            metadata=entity.metadata,
            created_at=entity.created_at,
            updated_at=entity.updated_at,
        )
        for entity in entities
    ]


def _relations_among(
    relations: Iterable[KnowledgeRelation], entity_ids: set[str], moment: datetime
) -> list[KnowledgeRelation]:
    chosen = [
        relation
        for relation in relations
        if relation.source_id in entity_ids
        and relation.target_id in entity_ids
        and relation.valid_at(moment)
    ]
    return sorted(chosen, key=lambda r: (r.source_name, r.relation_type, r.target_name))


def read_graph(db: Client, scope: KnowledgeScope, as_of: datetime | None = None) -> GraphView:
    """The whole graph of the scope (relations valid as of `as_of`), bounded."""
    moment = as_of or utc_now()
    documents = KnowledgeGraphQueries(db).scope_documents(scope.key, MAX_GRAPH_DOCUMENTS + 1)
    truncated = len(documents) > MAX_GRAPH_DOCUMENTS
    documents = documents[:MAX_GRAPH_DOCUMENTS]
    entities = sorted(
        (d for d in documents if isinstance(d, KnowledgeEntity)), key=lambda e: e.normalized_name
    )
    observations = [d for d in documents if isinstance(d, KnowledgeObservation)]
    relations = [d for d in documents if isinstance(d, KnowledgeRelation)]
    ids = {entity.id for entity in entities}
    return GraphView(
        entities=entity_views(entities, observations),
        relations=[relation_view(r) for r in _relations_among(relations, ids, moment)],
        truncated=truncated,
    )


def _graph_of(
    db: Client, scope: KnowledgeScope, entities: list[KnowledgeEntity], moment: datetime
) -> GraphView:
    queries = KnowledgeGraphQueries(db)
    ids = {entity.id for entity in entities}
    observations = queries.observations_of(scope.key, ids) if ids else []
    relations = (
        queries.relations_touching(scope.key, ids, limit=MAX_CONTEXT_RELATIONS) if ids else []
    )
    return GraphView(
        entities=entity_views(entities, observations),
        relations=[relation_view(r) for r in _relations_among(relations, ids, moment)],
    )


def open_nodes(
    db: Client, scope: KnowledgeScope, names: list[str], as_of: datetime | None = None
) -> GraphView:
    """The named entities (unknown names are left out) and the relations among them."""
    ids = list(dict.fromkeys(entity_id(scope.key, name) for name in names))
    entities = KnowledgeEntityRepository(db).get_many(ids)
    return _graph_of(db, scope, entities, as_of or utc_now())


def search_nodes(
    db: Client, scope: KnowledgeScope, query: str, as_of: datetime | None = None
) -> GraphView:
    """MCP memory's search: entities whose name, type or an observation contains `query`
    (case-insensitive), and the relations among them.

    Candidates come from the keyword index (documents sharing a word with the query), so the
    scope is never scanned; unlike MCP's scan, a fragment inside a longer word ("auth" in
    "authentication") is therefore not found.
    """
    needle = " ".join(query.casefold().split())
    tokens = keyword_tokens(query, limit=MAX_QUERY_KEYWORDS) or [needle]
    candidates = KnowledgeGraphQueries(db).keyword_matches(scope.key, tokens, MAX_SEARCH_CANDIDATES)
    entity_ids = {c.id if isinstance(c, KnowledgeEntity) else c.entity_id for c in candidates}
    entities = KnowledgeEntityRepository(db).get_many(sorted(entity_ids))
    graph = _graph_of(db, scope, entities, as_of or utc_now())

    def matches(view: EntityView) -> bool:
        texts = [view.name, view.entity_type, *view.observations]
        return any(needle in " ".join(text.casefold().split()) for text in texts)

    kept = [view for view in graph.entities if matches(view)]
    names = {view.name for view in kept}
    return GraphView(
        entities=sorted(kept, key=lambda view: view.name.casefold()),
        relations=[r for r in graph.relations if r.source in names and r.target in names],
    )


def _expand(
    queries: KnowledgeGraphQueries,
    scope: KnowledgeScope,
    origins: set[str],
    hops: int,
    moment: datetime,
    max_nodes: int,
) -> tuple[dict[str, int], list[KnowledgeRelation]]:
    """Breadth-first over relations valid at `moment`: hop count of every node reached (at most
    `max_nodes`) and the relations walked."""
    distances = dict.fromkeys(origins, 0)
    walked: dict[str, KnowledgeRelation] = {}
    frontier = set(origins)
    for hop in range(1, hops + 1):
        if not frontier:
            break
        reached: set[str] = set()
        touching = queries.relations_touching(
            scope.key, sorted(frontier)[:MAX_FRONTIER], limit=MAX_CONTEXT_RELATIONS
        )
        for relation in touching:
            if not relation.valid_at(moment):
                continue
            walked[relation.id] = relation
            for node in (relation.source_id, relation.target_id):
                if node not in distances and len(distances) < max_nodes:
                    distances[node] = hop
                    reached.add(node)
        frontier = reached
    return distances, list(walked.values())


def query_knowledge(
    db: Client, embedder: Embedder, scope: KnowledgeScope, request: KnowledgeQuery
) -> QueryResult:
    moment = request.as_of or utc_now()
    queries = KnowledgeGraphQueries(db)
    candidate_limit = min(MAX_CANDIDATES, max(4 * request.limit, 20))
    types: list[str | None] = [*request.entity_types] if request.entity_types else [None]
    vector = embedder.embed([request.query])[0]
    tokens = keyword_tokens(request.query, limit=MAX_QUERY_KEYWORDS)

    semantic: dict[str, float] = {}
    best_observation: dict[str, tuple[float, str | None]] = {}
    for entity_type in types:
        for hit in queries.nearest(scope.key, vector, candidate_limit, entity_type):
            document = hit.document
            owner = document.id if isinstance(document, KnowledgeEntity) else document.entity_id
            similarity = cosine_similarity_from_distance(hit.distance)
            if similarity > semantic.get(owner, float("-inf")):
                semantic[owner] = similarity
                matched = document.content if isinstance(document, KnowledgeObservation) else None
                best_observation[owner] = (similarity, matched)

    keyword: dict[str, float] = {}
    for entity_type in types:
        for document in queries.keyword_matches(scope.key, tokens, candidate_limit, entity_type):
            owner = document.id if isinstance(document, KnowledgeEntity) else document.entity_id
            keyword[owner] = max(keyword.get(owner, 0.0), keyword_score(tokens, document.keywords))

    distances = None
    if request.focal_entity is not None:
        focal = entity_id(scope.key, request.focal_entity)
        distances, _ = _expand(queries, scope, {focal}, FOCUS_MAX_HOPS, moment, 10 * MAX_CANDIDATES)

    ranked = fuse_scores(semantic, keyword, distances)[: request.limit]
    hit_ids = [candidate.entity_id for candidate in ranked]
    entities = {entity.id: entity for entity in KnowledgeEntityRepository(db).get_many(hit_ids)}
    ranked = [candidate for candidate in ranked if candidate.entity_id in entities]
    ids = {candidate.entity_id for candidate in ranked}
    observations = queries.observations_of(scope.key, ids) if ids else []
    views = {
        view_id: view
        for view_id, view in zip(
            [candidate.entity_id for candidate in ranked],
            entity_views([entities[c.entity_id] for c in ranked], observations),
            strict=True,
        )
    }
    hits = [
        KnowledgeHit(
            entity=views[candidate.entity_id],
            score=round(candidate.score, 6),
            semantic_score=round(candidate.semantic, 6),
            keyword_score=round(candidate.keyword, 6),
            graph_distance=candidate.distance,
            matched_observation=best_observation.get(candidate.entity_id, (0.0, None))[1],
        )
        for candidate in ranked
    ]

    reach, walked = _expand(queries, scope, ids, request.hops, moment, len(ids) + MAX_NEIGHBOURHOOD)
    if request.hops == 0:
        walked = (
            queries.relations_touching(scope.key, ids, limit=MAX_CONTEXT_RELATIONS) if ids else []
        )
    neighbour_ids = [node for node in reach if node not in ids]
    neighbours = KnowledgeEntityRepository(db).get_many(sorted(neighbour_ids))
    neighbour_observations = (
        queries.observations_of(scope.key, [n.id for n in neighbours]) if neighbours else []
    )
    context_ids = ids | {entity.id for entity in neighbours}
    return QueryResult(
        hits=hits,
        relations=[relation_view(r) for r in _relations_among(walked, context_ids, moment)],
        neighbourhood=entity_views(neighbours, neighbour_observations),
    )


def top_knowledge_for(
    db: Client,
    user_id: str,
    project_id: str | None,
    text: str,
    k: int = 5,
    *,
    embedder: Embedder | None = None,
) -> list[KnowledgeHit]:
    """The `k` knowledge hits most relevant to `text` in the project (or the user's own
    knowledge): what the agent runtime puts into a task's context. Raises ResourceNotFound when
    `user_id` may not read the project."""
    if not text.strip():
        return []
    if embedder is None:
        from aide.adapters.embeddings import get_embedder

        embedder = get_embedder()
    scope = resolve_scope(db, user_id, project_id)
    request = KnowledgeQuery(query=text[:2000], limit=max(1, min(k, 50)))
    return query_knowledge(db, embedder, scope, request).hits
