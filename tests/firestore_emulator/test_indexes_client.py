"""Index enforcement through the official client (an extension: ours only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
from google.cloud.firestore_v1.vector import Vector

from tests.firestore_emulator.test_query_client import seed

pytestmark = pytest.mark.ours_only

STATUS_PRIORITY = {
    "collectionGroup": "tasks",
    "queryScope": "COLLECTION",
    "fields": [
        {"fieldPath": "status", "order": "ASCENDING"},
        {"fieldPath": "priority", "order": "DESCENDING"},
    ],
}


@pytest.fixture
def enforce(firestore_emulator: Any, fs_project: str) -> Iterator[Any]:
    def set_indexes(config: dict[str, Any]) -> None:
        firestore_emulator.emulator.set_indexes(fs_project, config)

    yield set_indexes
    firestore_emulator.emulator.set_indexes(fs_project, None)


def test_missing_composite_index_fails_naming_it(fs_client: Any, enforce: Any) -> None:
    tasks = seed(fs_client, "tasks", {"t1": {"status": "open", "priority": 2}})
    enforce({"indexes": [], "fieldOverrides": []})
    query = tasks.where(filter=FieldFilter("status", "==", "open")).order_by(
        "priority", direction="DESCENDING"
    )
    with pytest.raises(exceptions.FailedPrecondition) as info:
        query.get()
    message = str(info.value)
    assert "The query requires an index" in message
    assert '"fieldPath": "status", "order": "ASCENDING"' in message
    assert '"fieldPath": "priority", "order": "DESCENDING"' in message
    # Single-field queries keep working without any composite index.
    assert [s.id for s in tasks.where(filter=FieldFilter("status", "==", "open")).get()] == ["t1"]

    enforce({"indexes": [STATUS_PRIORITY], "fieldOverrides": []})
    assert [s.id for s in query.get()] == ["t1"]


def test_aggregation_and_vector_queries_are_checked(fs_client: Any, enforce: Any) -> None:
    docs = seed(fs_client, "docs", {"a": {"e": Vector([1.0, 2.0]), "k": 1}})
    enforce({"indexes": []})
    vector_query = docs.find_nearest(
        "e", Vector([1.0, 2.0]), limit=5, distance_measure=DistanceMeasure.EUCLIDEAN
    )
    with pytest.raises(exceptions.FailedPrecondition) as info:
        vector_query.get()
    assert '"vectorConfig": {"dimension": 2, "flat": {}}' in str(info.value)
    with pytest.raises(exceptions.FailedPrecondition):
        docs.where(filter=FieldFilter("k", "==", 1)).order_by("x").count().get()
    enforce(
        {
            "indexes": [
                {
                    "collectionGroup": "docs",
                    "queryScope": "COLLECTION",
                    "fields": [{"fieldPath": "e", "vectorConfig": {"dimension": 2, "flat": {}}}],
                }
            ]
        }
    )
    assert [s.id for s in vector_query.get()] == ["a"]
