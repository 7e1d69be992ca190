"""Hosted embeddings through google-genai's `models.embed_content` (Gemini API or Vertex AI).

Asks for EMBEDDING_DIMENSION outputs (text-embedding-004 and gemini-embedding-001 both truncate
on request) so production vectors fit the same Firestore vector index as local ones, and
re-normalises them because truncated vectors are not unit length.
"""

from __future__ import annotations

import math
from typing import Any

from aide.adapters.embeddings.port import EmbeddingError
from aide.adapters.llm.gemini import GeminiSettings, _client_for
from aide.domain.knowledge import EMBEDDING_DIMENSION

DEFAULT_MODEL = "text-embedding-004"
# The API accepts at most 100 texts per embed_content call.
_BATCH_SIZE = 100


class GeminiEmbedder:
    def __init__(
        self,
        settings: GeminiSettings,
        model: str = DEFAULT_MODEL,
        dimension: int = EMBEDDING_DIMENSION,
    ) -> None:
        self._settings = settings
        self._model = model
        self._dimension = dimension

    @property
    def name(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        from google.genai import types as genai_types

        client = _client_for(self._settings)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _BATCH_SIZE):
            batch = texts[start : start + _BATCH_SIZE]
            try:
                response: Any = client.models.embed_content(
                    model=self._model,
                    contents=batch,
                    config=genai_types.EmbedContentConfig(
                        output_dimensionality=self._dimension, task_type="RETRIEVAL_DOCUMENT"
                    ),
                )
            except Exception as error:  # the SDK raises several unrelated types
                raise EmbeddingError(f"embedding with {self._model} failed: {error}") from error
            embeddings = response.embeddings or []
            if len(embeddings) != len(batch):
                raise EmbeddingError(
                    f"{self._model} returned {len(embeddings)} vectors for {len(batch)} texts"
                )
            vectors.extend(_unit([float(value) for value in item.values]) for item in embeddings)
        return vectors


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector))
    return vector if norm == 0.0 else [value / norm for value in vector]
