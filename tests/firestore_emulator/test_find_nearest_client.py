"""find_nearest (vector search) conformance through the official client."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
from google.cloud.firestore_v1.vector import Vector

from tests.firestore_emulator.test_query_client import seed


@pytest.fixture
def vectors(fs_client: Any) -> Any:
    return seed(
        fs_client,
        "vec",
        {
            "a": {"e": Vector([1.0, 0.0]), "k": 1},
            "b": {"e": Vector([0.0, 2.0]), "k": 1},
            "c": {"e": Vector([3.0, 3.0]), "k": 2},
            "wrong_dimension": {"e": Vector([1.0, 1.0, 1.0]), "k": 1},
            "plain_array": {"e": [1.0, 0.0], "k": 1},
        },
    )


def nearest(query: Any, measure: DistanceMeasure, limit: int = 10, **kwargs: Any) -> list[Any]:
    return list(
        query.find_nearest(
            "e", Vector([1.0, 0.0]), limit=limit, distance_measure=measure, **kwargs
        ).stream()
    )


def test_euclidean_with_distance_field(vectors: Any) -> None:
    results = nearest(vectors, DistanceMeasure.EUCLIDEAN, distance_result_field="dist")
    assert [s.id for s in results] == ["a", "b", "c"]
    assert [s.get("dist") for s in results] == pytest.approx([0.0, math.sqrt(5), math.sqrt(13)])
    assert "dist" not in vectors.document("a").get().to_dict()


def test_cosine_and_threshold(vectors: Any) -> None:
    results = nearest(vectors, DistanceMeasure.COSINE, distance_result_field="d")
    assert [s.id for s in results] == ["a", "c", "b"]
    assert [s.get("d") for s in results] == pytest.approx([0.0, 1 - math.sqrt(0.5), 1.0])
    close = nearest(vectors, DistanceMeasure.COSINE, distance_threshold=0.5)
    assert [s.id for s in close] == ["a", "c"]


def test_dot_product_orders_descending_and_threshold_is_minimum(vectors: Any) -> None:
    assert [s.id for s in nearest(vectors, DistanceMeasure.DOT_PRODUCT)] == ["c", "a", "b"]
    above = nearest(vectors, DistanceMeasure.DOT_PRODUCT, distance_threshold=1.0)
    assert [s.id for s in above] == ["c", "a"]


def test_limit_and_prefilter(vectors: Any) -> None:
    assert [s.id for s in nearest(vectors, DistanceMeasure.EUCLIDEAN, limit=1)] == ["a"]
    filtered = vectors.where(filter=FieldFilter("k", "==", 2))
    assert [s.id for s in nearest(filtered, DistanceMeasure.EUCLIDEAN)] == ["c"]


def test_limit_above_1000_is_rejected(vectors: Any) -> None:
    with pytest.raises(exceptions.InvalidArgument):
        nearest(vectors, DistanceMeasure.EUCLIDEAN, limit=1001)
