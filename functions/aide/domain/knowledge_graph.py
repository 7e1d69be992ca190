"""Pure knowledge-graph logic: identities, keyword tokens, graph distance and score fusion.

Identities are derived from content so that dedup is a read by id inside the writing transaction
(no query, no race): an entity by its normalized name within its scope, an observation by its
entity and normalized text, a relation (while open) by its ends and normalized type.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aide.domain.knowledge import normalize_entity_name

# Firestore's array-contains-any takes at most 30 values.
MAX_QUERY_KEYWORDS = 30
MAX_DOCUMENT_KEYWORDS = 64
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
    }
)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def entity_id(scope_key: str, name: str) -> str:
    return "e_" + _digest(scope_key, normalize_entity_name(name))


def observation_id(entity_doc_id: str, content: str) -> str:
    return "o_" + _digest(entity_doc_id, normalize_entity_name(content))


def normalize_relation_type(relation_type: str) -> str:
    return normalize_entity_name(relation_type)


def open_relation_id(scope_key: str, source_id: str, relation_type: str, target_id: str) -> str:
    """The id of the one open relation (source, type, target): a second create is a duplicate."""
    return "r_" + _digest(scope_key, source_id, normalize_relation_type(relation_type), target_id)


def closed_relation_id(open_id: str, valid_from: datetime) -> str:
    """Where a relation moves when it is closed, freeing its open id for a later re-creation."""
    return f"{open_id}_{int(valid_from.timestamp() * 1_000_000)}"


def scope_stats_id(scope_key: str) -> str:
    return "s_" + _digest(scope_key)


def keyword_tokens(*texts: str, limit: int = MAX_DOCUMENT_KEYWORDS) -> list[str]:
    """Distinct lower-case word tokens in order of first appearance, stopwords dropped."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text.casefold()):
            if len(word) > 1 and word not in _STOPWORDS:
                seen.setdefault(word, None)
                if len(seen) >= limit:
                    return list(seen)
    return list(seen)


def keyword_score(query_tokens: Iterable[str], document_tokens: Iterable[str]) -> float:
    """Share of the query's tokens the document holds (0..1)."""
    wanted = set(query_tokens)
    if not wanted:
        return 0.0
    return len(wanted & set(document_tokens)) / len(wanted)


def entity_embedding_text(name: str, entity_type: str) -> str:
    return f"{name} ({entity_type})"


def observation_embedding_text(entity_name: str, content: str) -> str:
    # The entity's name gives an observation ("uses Redis") the subject it is about.
    return f"{entity_name}: {content}"


@dataclass(frozen=True)
class FusionWeights:
    semantic: float = 0.75
    keyword: float = 0.25
    # Bonus for graph proximity to the focal entity: graph / (1 + hops), as Graphiti's
    # node-distance reranker favours facts near the focus.
    graph: float = 0.3


@dataclass(frozen=True)
class ScoredCandidate:
    entity_id: str
    score: float
    semantic: float
    keyword: float
    distance: int | None


def cosine_similarity_from_distance(distance: float) -> float:
    """Firestore's COSINE distance is 1 - cosine similarity."""
    return 1.0 - distance


def fuse_scores(
    semantic: Mapping[str, float],
    keyword: Mapping[str, float],
    distances: Mapping[str, int] | None = None,
    weights: FusionWeights = FusionWeights(),
) -> list[ScoredCandidate]:
    """One score per entity from its best semantic and keyword evidence, best first.

    Ties break by entity id so that results are deterministic.
    """
    candidates = []
    for candidate_id in set(semantic) | set(keyword):
        semantic_score = max(0.0, semantic.get(candidate_id, 0.0))
        keyword_part = keyword.get(candidate_id, 0.0)
        score = weights.semantic * semantic_score + weights.keyword * keyword_part
        distance = None if distances is None else distances.get(candidate_id)
        if distance is not None:
            score += weights.graph / (1 + distance)
        candidates.append(
            ScoredCandidate(candidate_id, score, semantic_score, keyword_part, distance)
        )
    candidates.sort(key=lambda candidate: (-candidate.score, candidate.entity_id))
    return candidates
