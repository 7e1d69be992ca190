"""The embedding port: texts in, one unit-length vector per text out, all of one dimension."""

from __future__ import annotations

from typing import Protocol


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Model identity stored with each vector, so vectors of another model are recognisable."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class EmbeddingError(Exception):
    """The embedding model could not be loaded or called."""
