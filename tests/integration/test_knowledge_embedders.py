"""Embedding adapters: the hosted one through the real google-genai SDK against the local fake of
the Gemini API, and the local all-MiniLM-L6-v2 model on CPU."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from aide.adapters.embeddings import EmbeddingError
from aide.adapters.embeddings.gemini import GeminiEmbedder
from aide.adapters.embeddings.local_minilm import LocalMiniLmEmbedder
from aide.adapters.llm.gemini import GeminiSettings
from tests.fakes.gemini_server import FakeGeminiServer, gemini_error
from tests.fakes.http_server import FakeResponse


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGeminiServer]:
    fake = FakeGeminiServer()
    with fake:
        yield fake


def embeddings(*vectors: list[float]) -> FakeResponse:
    return FakeResponse.json({"embeddings": [{"values": vector} for vector in vectors]})


def test_gemini_embedder_asks_for_the_index_dimension_and_normalises(
    server: FakeGeminiServer,
) -> None:
    server.requests.clear()
    server.enqueue(embeddings([3.0, 4.0] + [0.0] * 382, [0.0] * 383 + [2.0]))
    embedder = GeminiEmbedder(GeminiSettings(api_key=lambda: "k", base_url=server.url))
    first, second = embedder.embed(["alpha", "beta"])
    assert first[:2] == pytest.approx([0.6, 0.8]) and second[-1] == pytest.approx(1.0)
    request = server.requests[-1]
    assert request.path.endswith("models/text-embedding-004:batchEmbedContents")
    sent = request.json()["requests"]
    assert [item["content"]["parts"][0]["text"] for item in sent] == ["alpha", "beta"]
    assert {item["outputDimensionality"] for item in sent} == {384}


def test_gemini_embedder_batches_by_one_hundred(server: FakeGeminiServer) -> None:
    server.requests.clear()
    unit = [1.0] + [0.0] * 383
    server.enqueue(embeddings(*[unit] * 100), embeddings(*[unit] * 5))
    embedder = GeminiEmbedder(GeminiSettings(api_key=lambda: "k", base_url=server.url))
    assert len(embedder.embed([f"text {n}" for n in range(105)])) == 105
    assert [len(r.json()["requests"]) for r in server.requests] == [100, 5]


def test_gemini_embedder_failures_are_embedding_errors(server: FakeGeminiServer) -> None:
    embedder = GeminiEmbedder(GeminiSettings(api_key=lambda: "k", base_url=server.url))
    server.enqueue(gemini_error(400, "INVALID_ARGUMENT", "bad model"))
    with pytest.raises(EmbeddingError, match="bad model"):
        embedder.embed(["x"])
    server.enqueue(embeddings([1.0] * 384))
    with pytest.raises(EmbeddingError, match="1 vectors for 2 texts"):
        embedder.embed(["x", "y"])


def test_local_minilm_embeds_meaning_offline() -> None:
    embedder = LocalMiniLmEmbedder()
    cache, sessions, revenue = embedder.embed(
        [
            "The service stores user sessions in Redis",
            "Where are login states cached?",
            "Quarterly revenue grew by ten percent",
        ]
    )
    assert len(cache) == embedder.dimension == 384
    assert math.isclose(sum(v * v for v in cache), 1.0, rel_tol=1e-4)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(cache, sessions) > 0.4 > cosine(cache, revenue)
    assert embedder.embed([]) == []
