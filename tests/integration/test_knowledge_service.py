"""The knowledge services against the Firestore emulator (indexes enforced): the nine MCP memory
operations, dedup, cascade delete, validity and "as of", storage totals, scoping, hybrid query.

The deterministic hashing embedder keeps these fast; semantic quality is tested with MiniLM in
test_knowledge_retrieval.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aide.adapters.embeddings.hashing import HashingEmbedder
from aide.domain.access import ResourceNotFound
from aide.domain.document_size import document_bytes
from aide.domain.knowledge import (
    EntityInput,
    KnowledgeQuery,
    ObservationsDeleteInput,
    ObservationsInput,
    RelationClose,
    RelationInput,
    RelationRef,
)
from aide.domain.projects import ProjectCreate, ProjectVisibility
from aide.services import knowledge, knowledge_search, projects
from aide.services.knowledge import InvalidKnowledgeInput, KnowledgeScope

EMBEDDER = HashingEmbedder()
ALICE = KnowledgeScope("alice", "proj-1")


def entity(name: str, entity_type: str, *observations: str) -> EntityInput:
    return EntityInput.model_validate(
        {"name": name, "entityType": entity_type, "observations": list(observations)}
    )


def relation(source: str, relation_type: str, target: str, **extra: Any) -> RelationInput:
    return RelationInput.model_validate(
        {"from": source, "to": target, "relationType": relation_type, **extra}
    )


def ref(source: str, relation_type: str, target: str) -> RelationRef:
    return RelationRef.model_validate({"from": source, "to": target, "relationType": relation_type})


def seed(db: Any, scope: KnowledgeScope = ALICE) -> None:
    knowledge.create_entities(
        db,
        EMBEDDER,
        scope,
        [
            entity("Auth Service", "service", "issues JWT tokens", "written in Go"),
            entity("Redis", "datastore", "caches user sessions"),
            entity("Billing Service", "service", "charges cards monthly"),
        ],
    )
    knowledge.create_relations(
        db,
        scope,
        [
            relation("Auth Service", "uses", "Redis"),
            relation("Billing Service", "calls", "Auth Service"),
        ],
    )


def stored_documents(db: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (snapshot.id, snapshot.to_dict())
        for snapshot in db.collection("knowledge_graph").stream()
        if snapshot.to_dict().get("kind") != "scope"
    ]


def assert_totals_match_storage(db: Any, scope: KnowledgeScope) -> None:
    stats = knowledge.scope_stats(db, scope)
    documents = [
        (doc_id, data) for doc_id, data in stored_documents(db) if data["scopeKey"] == scope.key
    ]
    expected = sum(document_bytes(f"knowledge_graph/{doc_id}", data) for doc_id, data in documents)
    assert stats.storage_bytes == expected
    kinds = [data["kind"] for _, data in documents]
    assert stats.entity_count == kinds.count("entity")
    assert stats.relation_count == kinds.count("relation")
    assert stats.observation_count == kinds.count("observation")


def test_create_entities_dedups_by_normalized_name_and_counts_storage(fs_client: Any) -> None:
    first = knowledge.create_entities(
        fs_client,
        EMBEDDER,
        ALICE,
        [entity("Auth Service", "service", "issues JWT tokens", "issues JWT tokens")],
    )
    assert [e.name for e in first.entities] == ["Auth Service"]
    assert first.entities[0].observations == ["issues JWT tokens"]
    assert first.storage_bytes_delta > 0

    again = knowledge.create_entities(
        fs_client,
        EMBEDDER,
        ALICE,
        [entity("  auth   SERVICE ", "component", "other"), entity("Redis", "datastore")],
    )
    assert [e.name for e in again.entities] == ["Redis"]
    assert again.skipped == 1
    graph = knowledge_search.read_graph(fs_client, ALICE)
    assert [(e.name, e.entity_type) for e in graph.entities] == [
        ("Auth Service", "service"),
        ("Redis", "datastore"),
    ]
    assert graph.entities[0].observations == ["issues JWT tokens"]
    assert knowledge.scope_stats(fs_client, ALICE).storage_bytes == (
        first.storage_bytes_delta + again.storage_bytes_delta
    )
    assert_totals_match_storage(fs_client, ALICE)


def test_embeddings_are_stored_as_firestore_vectors(fs_client: Any) -> None:
    from google.cloud.firestore_v1.vector import Vector

    seed(fs_client)
    documents = stored_documents(fs_client)
    embedded = [data for _, data in documents if data["kind"] in ("entity", "observation")]
    assert len(embedded) == 7
    for data in embedded:
        assert isinstance(data["embedding"], Vector)
        assert len(data["embedding"]) == EMBEDDER.dimension
        assert data["embeddingModel"] == EMBEDDER.name


def test_relations_dedup_and_unknown_entities_are_refused_atomically(fs_client: Any) -> None:
    seed(fs_client)
    duplicate = knowledge.create_relations(
        fs_client, ALICE, [relation("auth service", "USES", "redis")]
    )
    assert duplicate.relations == [] and duplicate.skipped == 1

    with pytest.raises(InvalidKnowledgeInput) as refused:
        knowledge.create_relations(
            fs_client,
            ALICE,
            [relation("Redis", "stores", "Billing Service"), relation("Redis", "uses", "Ghost")],
        )
    assert refused.value.details == [
        {"field": "relations.1.to", "message": "no entity named 'Ghost'", "type": "unknown_entity"}
    ]
    # Nothing of the refused request was written.
    graph = knowledge_search.read_graph(fs_client, ALICE)
    assert sorted((r.source, r.relation_type, r.target) for r in graph.relations) == [
        ("Auth Service", "uses", "Redis"),
        ("Billing Service", "calls", "Auth Service"),
    ]


def test_add_and_delete_observations(fs_client: Any) -> None:
    seed(fs_client)
    added = knowledge.add_observations(
        fs_client,
        EMBEDDER,
        ALICE,
        [
            ObservationsInput.model_validate(
                {"entityName": "redis", "contents": ["caches user sessions", "runs on port 6379"]}
            )
        ],
    )
    assert added.observations == [
        {"entityName": "Redis", "addedObservations": ["runs on port 6379"]}
    ]
    assert added.skipped == 1
    with pytest.raises(InvalidKnowledgeInput) as refused:
        knowledge.add_observations(
            fs_client,
            EMBEDDER,
            ALICE,
            [ObservationsInput.model_validate({"entityName": "Nope", "contents": ["x"]})],
        )
    assert refused.value.details[0]["field"] == "observations.0.entityName"

    deleted = knowledge.delete_observations(
        fs_client,
        ALICE,
        [
            ObservationsDeleteInput.model_validate(
                {"entityName": "Redis", "observations": ["caches user sessions", "never said"]}
            )
        ],
    )
    assert deleted.deleted == 1 and deleted.storage_bytes_delta < 0
    nodes = knowledge_search.open_nodes(fs_client, ALICE, ["Redis"])
    assert nodes.entities[0].observations == ["runs on port 6379"]
    assert_totals_match_storage(fs_client, ALICE)


def test_delete_entities_cascades_to_observations_and_relations(fs_client: Any) -> None:
    seed(fs_client)
    result = knowledge.delete_entities(fs_client, ALICE, ["AUTH service", "unknown"])
    # The entity, its two observations, and both relations touching it.
    assert result.deleted == 5
    graph = knowledge_search.read_graph(fs_client, ALICE)
    assert [e.name for e in graph.entities] == ["Billing Service", "Redis"]
    assert graph.relations == []
    remaining = {data["kind"] for _, data in stored_documents(fs_client)}
    assert remaining == {"entity", "observation"}
    assert_totals_match_storage(fs_client, ALICE)

    knowledge.delete_entities(fs_client, ALICE, ["Billing Service", "Redis"])
    stats = knowledge.scope_stats(fs_client, ALICE)
    assert (stats.storage_bytes, stats.entity_count, stats.observation_count) == (0, 0, 0)


def test_delete_relations_removes_only_the_open_relation(fs_client: Any) -> None:
    seed(fs_client)
    result = knowledge.delete_relations(
        fs_client, ALICE, [ref("Auth Service", "uses", "Redis"), ref("Redis", "uses", "Nothing")]
    )
    assert result.deleted == 1
    graph = knowledge_search.read_graph(fs_client, ALICE)
    assert [(r.source, r.target) for r in graph.relations] == [("Billing Service", "Auth Service")]


def test_supersede_closes_and_as_of_reads_history(fs_client: Any) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    knowledge.create_entities(
        fs_client,
        EMBEDDER,
        ALICE,
        [entity("Dana", "person"), entity("Acme", "company"), entity("Globex", "company")],
    )
    knowledge.create_relations(
        fs_client, ALICE, [relation("Dana", "works at", "Acme", validFrom=t0)]
    )
    t1 = t0 + timedelta(days=30)
    superseding = knowledge.create_relations(
        fs_client,
        ALICE,
        [relation("Dana", "works at", "Globex", validFrom=t1, supersede=True)],
    )
    assert [(r.target, r.valid_to) for r in superseding.relations] == [("Globex", None)]

    def employers(as_of: datetime | None) -> list[str]:
        graph = knowledge_search.read_graph(fs_client, ALICE, as_of=as_of)
        return sorted(r.target for r in graph.relations if r.relation_type == "works at")

    assert employers(t0 - timedelta(days=1)) == []
    assert employers(t0 + timedelta(days=1)) == ["Acme"]
    assert employers(t1 + timedelta(days=1)) == ["Globex"]
    assert employers(None) == ["Globex"]
    # The closed fact is history, kept with its interval; the same relation may open again.
    closed = [data for _, data in stored_documents(fs_client) if data["kind"] == "relation"]
    assert sorted((d["targetName"], d.get("validTo")) for d in closed) == [
        ("Acme", t1),
        ("Globex", None),
    ]
    reopened = knowledge.create_relations(fs_client, ALICE, [relation("Dana", "works at", "Acme")])
    assert len(reopened.relations) == 1

    t2 = t1 + timedelta(days=10)
    closing = knowledge.close_relations(
        fs_client,
        ALICE,
        [
            RelationClose.model_validate(
                {"from": "Dana", "to": "Globex", "relationType": "works at", "validTo": t2}
            )
        ],
    )
    assert [r.valid_to for r in closing.relations] == [t2]
    assert employers(t2 - timedelta(days=1)) == ["Globex"]
    assert "Globex" not in employers(None)
    with pytest.raises(InvalidKnowledgeInput):
        knowledge.close_relations(
            fs_client,
            ALICE,
            [
                RelationClose.model_validate(
                    {"from": "Dana", "to": "Acme", "relationType": "works at", "validTo": t0}
                )
            ],
        )
    assert_totals_match_storage(fs_client, ALICE)


def test_search_and_open_nodes(fs_client: Any) -> None:
    seed(fs_client)
    found = knowledge_search.search_nodes(fs_client, ALICE, "JWT tokens")
    assert [e.name for e in found.entities] == ["Auth Service"]
    services = knowledge_search.search_nodes(fs_client, ALICE, "service")
    assert [e.name for e in services.entities] == ["Auth Service", "Billing Service"]
    assert [(r.source, r.target) for r in services.relations] == [
        ("Billing Service", "Auth Service")
    ]
    opened = knowledge_search.open_nodes(fs_client, ALICE, ["redis", "Auth Service", "ghost"])
    assert sorted(e.name for e in opened.entities) == ["Auth Service", "Redis"]
    assert [(r.source, r.relation_type, r.target) for r in opened.relations] == [
        ("Auth Service", "uses", "Redis")
    ]


def test_query_fuses_semantic_and_keyword_filters_types_and_reranks_by_focus(
    fs_client: Any,
) -> None:
    seed(fs_client)
    result = knowledge_search.query_knowledge(
        fs_client, EMBEDDER, ALICE, KnowledgeQuery(query="user sessions cache", limit=3)
    )
    assert result.hits[0].entity.name == "Redis"
    assert result.hits[0].matched_observation == "caches user sessions"
    assert result.hits[0].keyword_score > 0 and result.hits[0].semantic_score > 0
    assert [hit.score for hit in result.hits] == sorted(
        (hit.score for hit in result.hits), reverse=True
    )

    typed = knowledge_search.query_knowledge(
        fs_client,
        EMBEDDER,
        ALICE,
        KnowledgeQuery(query="service", entity_types=["datastore"], limit=5),
    )
    assert {hit.entity.entity_type for hit in typed.hits} == {"datastore"}

    def ranking(focal: str) -> list[str]:
        result = knowledge_search.query_knowledge(
            fs_client,
            EMBEDDER,
            ALICE,
            KnowledgeQuery(query="service", limit=3, focal_entity=focal),
        )
        names = [hit.entity.name for hit in result.hits]
        return [name for name in names if name.endswith("Service")]

    # Both services match "service" alike; the one nearer the focus in the graph wins.
    focused = knowledge_search.query_knowledge(
        fs_client,
        EMBEDDER,
        ALICE,
        KnowledgeQuery(query="service", limit=3, focal_entity="Redis"),
    )
    distances = {hit.entity.name: hit.graph_distance for hit in focused.hits}
    assert distances == {"Redis": 0, "Auth Service": 1, "Billing Service": 2}
    assert ranking("Redis") == ["Auth Service", "Billing Service"]
    assert ranking("Billing Service") == ["Billing Service", "Auth Service"]


def test_query_returns_relations_among_hits_and_bounded_neighbourhood(fs_client: Any) -> None:
    seed(fs_client)
    result = knowledge_search.query_knowledge(
        fs_client, EMBEDDER, ALICE, KnowledgeQuery(query="caches user sessions", limit=1, hops=0)
    )
    assert [hit.entity.name for hit in result.hits] == ["Redis"]
    assert result.relations == [] and result.neighbourhood == []
    expanded = knowledge_search.query_knowledge(
        fs_client, EMBEDDER, ALICE, KnowledgeQuery(query="caches user sessions", limit=1, hops=2)
    )
    assert sorted(e.name for e in expanded.neighbourhood) == ["Auth Service", "Billing Service"]
    assert sorted((r.source, r.target) for r in expanded.relations) == [
        ("Auth Service", "Redis"),
        ("Billing Service", "Auth Service"),
    ]


def test_scopes_never_see_each_other(fs_client: Any) -> None:
    seed(fs_client, ALICE)
    others = [
        KnowledgeScope("bob", "proj-1"),
        KnowledgeScope("alice", "proj-2"),
        KnowledgeScope("alice"),
    ]
    for scope in others:
        assert knowledge_search.read_graph(fs_client, scope).entities == []
        assert knowledge_search.search_nodes(fs_client, scope, "Redis").entities == []
        assert knowledge_search.open_nodes(fs_client, scope, ["Redis"]).entities == []
        query = KnowledgeQuery(query="Redis caches user sessions", limit=10)
        assert knowledge_search.query_knowledge(fs_client, EMBEDDER, scope, query).hits == []
        assert knowledge.delete_entities(fs_client, scope, ["Redis"]).deleted == 0
        with pytest.raises(InvalidKnowledgeInput):
            knowledge.create_relations(fs_client, scope, [relation("Redis", "x", "Auth Service")])
    # The same name in another scope is another entity.
    bob = knowledge.create_entities(fs_client, EMBEDDER, others[0], [entity("Redis", "cache")])
    assert len(bob.entities) == 1
    assert knowledge_search.open_nodes(fs_client, ALICE, ["Redis"]).entities[0].entity_type == (
        "datastore"
    )


def test_project_scope_follows_project_access(fs_client: Any) -> None:
    team = projects.create_project(
        fs_client,
        "owner",
        ProjectCreate(name="Team project", visibility=ProjectVisibility.TEAM),
    )
    fs_client.collection("projects").document(team.id).update({"memberIds": ["member"]})
    owner_scope = knowledge.resolve_scope(fs_client, "owner", team.id)
    member_scope = knowledge.resolve_scope(fs_client, "member", team.id)
    assert owner_scope == member_scope == KnowledgeScope("owner", team.id)
    with pytest.raises(ResourceNotFound):
        knowledge.resolve_scope(fs_client, "stranger", team.id)
    with pytest.raises(ResourceNotFound):
        knowledge.resolve_scope(fs_client, "owner", "no-such-project")
    assert knowledge.resolve_scope(fs_client, "stranger", None) == KnowledgeScope("stranger")

    seed(fs_client, owner_scope)
    hits = knowledge_search.top_knowledge_for(
        fs_client, "member", team.id, "user sessions cache", 2, embedder=EMBEDDER
    )
    assert hits[0].entity.name == "Redis" and len(hits) == 2
    with pytest.raises(ResourceNotFound):
        knowledge_search.top_knowledge_for(
            fs_client, "stranger", team.id, "user sessions", 2, embedder=EMBEDDER
        )


def test_writes_are_charged_to_the_owners_storage_quota(fs_client: Any) -> None:
    from aide.adapters.identity import VerifiedIdentity
    from aide.domain.quota import QuotaExhausted
    from aide.services.authentication import provision_user
    from aide.services.knowledge_quota import QuotaStorageBudget

    provision_user(fs_client, VerifiedIdentity(uid="alice"))
    user = fs_client.collection("users").document("alice")

    def used() -> int:
        return int(user.get().to_dict()["quotas"]["storageBytes"]["used"])

    budget = QuotaStorageBudget(fs_client, "alice")
    knowledge.create_entities(
        fs_client, EMBEDDER, ALICE, [entity("Redis", "datastore", "caches sessions")], budget=budget
    )
    knowledge.create_entities(
        fs_client,
        EMBEDDER,
        ALICE,
        [entity("Redis", "again"), entity("Kafka", "queue")],
        budget=QuotaStorageBudget(fs_client, "alice"),
    )
    knowledge.create_relations(
        fs_client,
        ALICE,
        [relation("Kafka", "feeds", "Redis")],
        budget=QuotaStorageBudget(fs_client, "alice"),
    )
    # Reservations are settled to exactly what is stored.
    assert used() == knowledge.scope_stats(fs_client, ALICE).storage_bytes > 0

    user.update({"quotas.storageBytes.limit": used() + 100})
    before = used()
    with pytest.raises(QuotaExhausted):
        knowledge.create_entities(
            fs_client,
            EMBEDDER,
            ALICE,
            [entity("Postgres", "database", "stores orders")],
            budget=QuotaStorageBudget(fs_client, "alice"),
        )
    assert used() == before
    assert knowledge_search.open_nodes(fs_client, ALICE, ["Postgres"]).entities == []

    # A refused write for bad input gives its reservation back.
    user.update({"quotas.storageBytes.limit": 10**9})
    with pytest.raises(InvalidKnowledgeInput):
        knowledge.create_relations(
            fs_client,
            ALICE,
            [relation("Kafka", "feeds", "Nowhere")],
            budget=QuotaStorageBudget(fs_client, "alice"),
        )
    assert used() == before

    knowledge.delete_entities(
        fs_client, ALICE, ["Redis", "Kafka"], budget=QuotaStorageBudget(fs_client, "alice")
    )
    assert used() == 0 == knowledge.scope_stats(fs_client, ALICE).storage_bytes
