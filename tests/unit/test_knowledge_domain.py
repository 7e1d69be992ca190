"""Pure knowledge-graph logic: identities, tokens, score fusion, document size, request models,
and embedder selection (no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from aide.adapters import embeddings
from aide.adapters.embeddings.hashing import HashingEmbedder
from aide.domain.document_size import document_bytes, value_bytes
from aide.domain.knowledge import (
    EMBEDDING_DIMENSION,
    EntitiesCreate,
    KnowledgeEntity,
    KnowledgeQuery,
    KnowledgeRelation,
    RelationInput,
    normalize_entity_name,
    scope_key_of,
)
from aide.domain.knowledge_graph import (
    closed_relation_id,
    entity_id,
    fuse_scores,
    keyword_score,
    keyword_tokens,
    observation_id,
    open_relation_id,
)


def test_entity_identity_is_its_normalized_name_within_its_scope() -> None:
    scope = scope_key_of("alice", "p1")
    assert normalize_entity_name("  Auth   SERVICE ") == "auth service"
    assert entity_id(scope, "Auth Service") == entity_id(scope, " auth  service")
    assert entity_id(scope, "Auth Service") != entity_id(
        scope_key_of("alice", None), "Auth Service"
    )
    assert entity_id(scope, "Auth Service") != entity_id(scope_key_of("bob", "p1"), "Auth Service")
    assert scope_key_of("alice", None) != scope_key_of("alice", "~x")


def test_observation_and_relation_identities() -> None:
    scope = scope_key_of("u", "p")
    a, b = entity_id(scope, "A"), entity_id(scope, "B")
    assert observation_id(a, "Uses  Redis") == observation_id(a, "uses redis")
    assert observation_id(a, "x") != observation_id(b, "x")
    assert open_relation_id(scope, a, "Works At", b) == open_relation_id(scope, a, "works at", b)
    assert open_relation_id(scope, a, "uses", b) != open_relation_id(scope, b, "uses", a)
    opened = open_relation_id(scope, a, "uses", b)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert closed_relation_id(opened, moment) != opened
    assert closed_relation_id(opened, moment).startswith(opened)


def test_keyword_tokens_drop_stopwords_and_repeats() -> None:
    assert keyword_tokens("The Auth service, and the auth_token!") == ["auth", "service", "token"]
    assert keyword_tokens("a b c") == []
    assert keyword_tokens("one two three", limit=2) == ["one", "two"]
    assert keyword_score(["redis", "cache"], ["redis", "sessions"]) == 0.5
    assert keyword_score([], ["x"]) == 0.0


def test_fusion_ranks_by_semantic_then_keyword_and_graph_proximity() -> None:
    ranked = fuse_scores({"a": 0.5, "b": 0.6}, {"a": 1.0})
    assert [c.entity_id for c in ranked] == ["a", "b"]
    assert ranked[0].score == pytest.approx(0.75 * 0.5 + 0.25)
    near = fuse_scores({"a": 0.5, "b": 0.5}, {}, {"b": 1, "a": 3})
    assert [c.entity_id for c in near] == ["b", "a"]
    assert near[0].distance == 1
    # Negative similarity never counts against a keyword match.
    assert fuse_scores({"a": -0.4}, {"a": 1.0})[0].semantic == 0.0
    # Deterministic tie-break.
    assert [c.entity_id for c in fuse_scores({"b": 0.5, "a": 0.5}, {})] == ["a", "b"]


def test_document_size_follows_firestore_rules() -> None:
    assert value_bytes("abc") == 4
    assert value_bytes(None) == value_bytes(True) == 1
    assert value_bytes(3) == value_bytes(2.5) == value_bytes(datetime.now(UTC)) == 8
    assert value_bytes([1.0] * 384) == 384 * 8
    assert value_bytes({"ab": "c"}) == 3 + 2
    # "knowledge_graph/x": (15 + 1) + (1 + 1) + 16, plus fields, plus 32.
    assert document_bytes("knowledge_graph/x", {"k": 1}) == 34 + 2 + 8 + 32


def test_relation_validity_interval() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    relation = KnowledgeRelation(
        id="r",
        user_id="u",
        source_id="a",
        target_id="b",
        relation_type="x",
        valid_from=start,
        valid_to=end,
    )
    assert not relation.valid_at(datetime(2025, 12, 31, tzinfo=UTC))
    assert relation.valid_at(start) and not relation.valid_at(end)
    assert relation.model_copy(update={"valid_to": None}).valid_at(datetime(2030, 1, 1, tzinfo=UTC))


def test_stored_vectors_load_as_float_lists() -> None:
    entity = KnowledgeEntity.from_document(
        {
            "id": "e",
            "userId": "u",
            "name": "n",
            "normalizedName": "n",
            "entityType": "t",
            "embedding": (0.5, 1),
        }
    )
    assert entity.embedding == [0.5, 1.0]


def test_requests_refuse_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError) as unknown:
        EntitiesCreate.model_validate(
            {"entities": [{"name": "a", "entityType": "t", "colour": "red"}]}
        )
    assert unknown.value.errors()[0]["loc"] == ("entities", 0, "colour")
    bad_bodies: list[dict[str, Any]] = [
        {"entities": []},
        {"entities": [{"name": "   ", "entityType": "t"}]},
    ]
    for bad in bad_bodies:
        with pytest.raises(ValidationError):
            EntitiesCreate.model_validate(bad)
    with pytest.raises(ValidationError):
        KnowledgeQuery.model_validate({"query": "x", "hops": 3})
    with pytest.raises(ValidationError):
        RelationInput.model_validate(
            {"from": "a", "to": "b", "relationType": "x", "validFrom": "2026-01-01T00:00:00"}
        )
    for bad_entity in (
        {"name": "lone \ud800 surrogate", "entityType": "t"},
        {"name": "a", "entityType": "t", "metadata": {"": 1}},
        {"name": "a", "entityType": "t", "metadata": {"__name__": 1}},
        {"name": "a", "entityType": "t", "metadata": {"nested": {"x": 1}}},
    ):
        with pytest.raises(ValidationError):
            EntitiesCreate.model_validate({"entities": [bad_entity]})
    with pytest.raises(ValidationError, match="at most 400"):
        EntitiesCreate.model_validate(
            {
                "entities": [
                    {"name": f"e{n}", "entityType": "t", "observations": ["a", "b", "c", "d"]}
                    for n in range(100)
                ]
            }
        )
    with pytest.raises(ValidationError):
        KnowledgeQuery.model_validate({"query": "x", "projectId": "a/b"})
    relation = RelationInput.model_validate({"from": "a", "to": "b", "relationType": "x"})
    assert (relation.source, relation.target) == ("a", "b")


def test_hashing_embedder_is_deterministic_and_unit_length() -> None:
    embedder = HashingEmbedder()
    first, again, other = embedder.embed(["redis caches sessions", "redis caches sessions", ""])
    assert first == again and len(first) == EMBEDDING_DIMENSION == embedder.dimension
    assert math.isclose(sum(v * v for v in first), 1.0) and math.isclose(
        sum(v * v for v in other), 1.0
    )


def test_embedder_is_chosen_by_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDER", "hashing")
    assert embeddings.embedder_from_config().name.startswith("hashing")
    monkeypatch.setenv("EMBEDDER", "local-minilm")
    assert embeddings.embedder_from_config().name == "all-MiniLM-L6-v2"
    monkeypatch.setenv("EMBEDDER", "gemini")
    monkeypatch.setenv("EMBEDDING_MODEL", "gemini-embedding-001")
    hosted = embeddings.embedder_from_config()
    assert (hosted.name, hosted.dimension) == ("gemini-embedding-001", EMBEDDING_DIMENSION)
    monkeypatch.setenv("EMBEDDER", "word2vec")
    with pytest.raises(embeddings.EmbeddingError):
        embeddings.embedder_from_config()
    monkeypatch.delenv("EMBEDDER")
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    assert embeddings.embedder_from_config().name == "gemini-embedding-001"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    assert embeddings.embedder_from_config().name == "all-MiniLM-L6-v2"
