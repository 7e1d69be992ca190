"""Embedding adapters behind one port (`Embedder`), chosen by configuration.

`EMBEDDER` (a firebase param / environment variable): `gemini` (hosted; the default when deployed),
`local-minilm` (all-MiniLM-L6-v2 on CPU; the default on the local platform, i.e. when the
Firestore emulator is in use), or `hashing` (no model; plumbing tests). `EMBEDDING_MODEL` names the
hosted model. Every adapter is imported lazily: the deployed functions never import torch.
"""

from __future__ import annotations

import os
import threading

from aide.adapters.embeddings.port import Embedder, EmbeddingError

__all__ = ["Embedder", "EmbeddingError", "embedder_from_config", "get_embedder", "set_embedder"]

_lock = threading.Lock()
_embedder: Embedder | None = None


def embedder_from_config() -> Embedder:
    default = "local-minilm" if os.environ.get("FIRESTORE_EMULATOR_HOST") else "gemini"
    choice = os.environ.get("EMBEDDER", default).strip().lower()
    if choice == "hashing":
        from aide.adapters.embeddings.hashing import HashingEmbedder

        return HashingEmbedder()
    if choice == "local-minilm":
        from aide.adapters.embeddings.local_minilm import LocalMiniLmEmbedder

        return LocalMiniLmEmbedder()
    if choice == "gemini":
        from aide.adapters.embeddings.gemini import DEFAULT_MODEL, GeminiEmbedder
        from aide.adapters.llm.registry import ProviderSettings

        settings = ProviderSettings.from_params()
        from aide.adapters.llm.gemini import GeminiSettings

        return GeminiEmbedder(
            GeminiSettings(
                api_key=settings.gemini_api_key,
                vertexai=settings.gemini_vertexai,
                project=settings.gemini_project,
                location=settings.gemini_location,
            ),
            model=os.environ.get("EMBEDDING_MODEL") or DEFAULT_MODEL,
        )
    raise EmbeddingError(f"unknown EMBEDDER {choice!r} (expected gemini, local-minilm or hashing)")


def get_embedder() -> Embedder:
    """The process-wide embedder, created on first use."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = embedder_from_config()
    return _embedder


def set_embedder(embedder: Embedder | None) -> None:
    """Replace the process-wide embedder (None: choose again from configuration on next use)."""
    global _embedder
    with _lock:
        _embedder = embedder
