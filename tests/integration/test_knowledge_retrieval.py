"""Semantic retrieval with the real local model (all-MiniLM-L6-v2 on CPU, offline).

The retrieval set (benchmarks/knowledge/retrieval_set.json) is a small realistic project graph with
paraphrased questions that share no word with their target: keyword match alone cannot answer
them, so each passing query is the embedding model plus Firestore `find_nearest` at work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aide.adapters.embeddings.local_minilm import LocalMiniLmEmbedder
from aide.domain.knowledge import EntityInput, KnowledgeQuery, RelationInput
from aide.domain.knowledge_graph import keyword_tokens
from aide.services import knowledge, knowledge_search
from aide.services.knowledge import KnowledgeScope

RETRIEVAL_SET = Path(__file__).resolve().parents[2] / "benchmarks/knowledge/retrieval_set.json"
DATA: dict[str, Any] = json.loads(RETRIEVAL_SET.read_text(encoding="utf-8"))
SCOPE = KnowledgeScope("retrieval-user", "bookshop")
# One model for the whole session (loading takes seconds; the module keeps it).
EMBEDDER = LocalMiniLmEmbedder()


@pytest.fixture
def bookshop(fs_client: Any) -> Any:
    knowledge.create_entities(
        fs_client,
        EMBEDDER,
        SCOPE,
        [EntityInput.model_validate(item) for item in DATA["entities"]],
    )
    knowledge.create_relations(
        fs_client, SCOPE, [RelationInput.model_validate(item) for item in DATA["relations"]]
    )
    return fs_client


def test_queries_share_no_keyword_with_their_target() -> None:
    entities = {item["name"]: item for item in DATA["entities"]}
    assert len(entities) >= 20 and len(DATA["queries"]) >= 15
    for case in DATA["queries"]:
        target = entities[case["target"]]
        words = keyword_tokens(
            target["name"], target["entityType"], *target["observations"], limit=10_000
        )
        assert not set(words) & set(keyword_tokens(case["query"])), case


def test_paraphrased_queries_find_their_target_in_the_top_3(bookshop: Any) -> None:
    misses = []
    for case in DATA["queries"]:
        result = knowledge_search.query_knowledge(
            bookshop, EMBEDDER, SCOPE, KnowledgeQuery(query=case["query"], limit=3)
        )
        names = [hit.entity.name for hit in result.hits]
        if case["target"] not in names:
            misses.append((case["query"], case["target"], names))
    assert misses == []


def test_another_scope_gets_no_hit_for_the_same_questions(bookshop: Any) -> None:
    for scope in (KnowledgeScope("intruder", "bookshop"), KnowledgeScope("retrieval-user", "x")):
        for case in DATA["queries"][:5]:
            result = knowledge_search.query_knowledge(
                bookshop, EMBEDDER, scope, KnowledgeQuery(query=case["query"], limit=3)
            )
            assert result.hits == []
