"""A deterministic bag-of-words embedder: no model, no I/O — for pure unit tests and scale runs.

Each word token hashes to a signed bucket; the vector is L2-normalised. Texts sharing words are
close, paraphrases are not: it exercises the plumbing, never semantic quality.
"""

from __future__ import annotations

import hashlib
import math

from aide.domain.knowledge import EMBEDDING_DIMENSION
from aide.domain.knowledge_graph import keyword_tokens


class HashingEmbedder:
    def __init__(self, dimension: int = EMBEDDING_DIMENSION) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hashing-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        for token in keyword_tokens(text, limit=10_000):
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self._dimension
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(value * value for value in vector))
        if norm == 0.0:
            # An empty text still needs a valid vector; any fixed unit vector will do.
            vector[0] = 1.0
            return vector
        return [value / norm for value in vector]
