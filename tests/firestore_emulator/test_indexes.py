"""Pure tests of index enforcement (check_query) on queries built by the official client."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter, Or
from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
from google.cloud.firestore_v1.vector import Vector

from emulators.firestore.errors import EmulatorError
from emulators.firestore.indexes import IndexConfig, check_aggregation, check_query

ROOT = "projects/p/databases/(default)/documents"


@pytest.fixture(scope="module")
def client() -> firestore.Client:
    return firestore.Client(project="p", credentials=AnonymousCredentials())


def pb(query: Any) -> Any:
    if not hasattr(query, "_to_protobuf"):
        query = query._query()
    return query._to_protobuf()._pb


def index(group: str, *fields: tuple[str, str], scope: str = "COLLECTION") -> dict[str, Any]:
    out = []
    for path, mode in fields:
        if mode == "CONTAINS":
            out.append({"fieldPath": path, "arrayConfig": "CONTAINS"})
        elif mode.startswith("VECTOR"):
            out.append(
                {"fieldPath": path, "vectorConfig": {"dimension": int(mode[6:]), "flat": {}}}
            )
        else:
            out.append({"fieldPath": path, "order": mode})
    return {"collectionGroup": group, "queryScope": scope, "fields": out}


def config(*indexes: dict[str, Any], overrides: list[dict[str, Any]] | None = None) -> IndexConfig:
    return IndexConfig.from_json({"indexes": list(indexes), "fieldOverrides": overrides or []})


def missing(cfg: IndexConfig, query: Any) -> dict[str, Any]:
    """The JSON snippet the error names."""
    with pytest.raises(EmulatorError) as info:
        check_query(cfg, ROOT, pb(query))
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.message.startswith("The query requires an index.")
    return json.loads(info.value.message[info.value.message.index("{") :])


def test_single_field_queries_need_no_composite(client: Any) -> None:
    col = client.collection("tasks")
    empty = config()
    for q in [
        col,
        col.where(filter=FieldFilter("a", "==", 1)),
        col.where(filter=FieldFilter("a", "==", 1)).where(filter=FieldFilter("b", "==", 2)),
        col.where(filter=FieldFilter("a", "==", 1)).where(
            filter=FieldFilter("t", "array_contains", 2)
        ),
        col.where(filter=FieldFilter("a", ">", 1)),
        col.where(filter=FieldFilter("a", "!=", 1)),
        col.order_by("a", direction="DESCENDING"),
        col.where(filter=FieldFilter("a", ">", 1)).order_by("a"),
        col.where(filter=FieldFilter("a", "==", 1)).order_by("a"),
        col.where(filter=Or([FieldFilter("a", "==", 1), FieldFilter("b", "==", 2)])),
        col.order_by("__name__", direction="DESCENDING"),
        col.where(filter=FieldFilter("a", "in", [1, 2])).order_by("a"),
    ]:
        check_query(empty, ROOT, pb(q))


def test_equality_plus_order_needs_composite(client: Any) -> None:
    q = (
        client.collection("tasks")
        .where(filter=FieldFilter("status", "==", "open"))
        .order_by("priority", direction="DESCENDING")
    )
    wanted = missing(config(), q)
    assert wanted == index("tasks", ("status", "ASCENDING"), ("priority", "DESCENDING"))
    check_query(config(wanted), ROOT, pb(q))
    # Direction must match.
    wrong = index("tasks", ("status", "ASCENDING"), ("priority", "ASCENDING"))
    missing(config(wrong), q)


def test_two_inequalities_and_orders(client: Any) -> None:
    col = client.collection("tasks")
    q = col.where(filter=FieldFilter("b", ">", 1)).where(filter=FieldFilter("a", "<", 5))
    assert missing(config(), q) == index("tasks", ("a", "ASCENDING"), ("b", "ASCENDING"))
    q = col.order_by("a").order_by("b", direction="DESCENDING")
    assert missing(config(), q) == index("tasks", ("a", "ASCENDING"), ("b", "DESCENDING"))


def test_index_merging_shares_the_order_suffix(client: Any) -> None:
    q = (
        client.collection("tasks")
        .where(filter=FieldFilter("a", "==", 1))
        .where(filter=FieldFilter("b", "==", 2))
        .order_by("c")
    )
    merged = config(
        index("tasks", ("a", "ASCENDING"), ("c", "ASCENDING")),
        index("tasks", ("b", "ASCENDING"), ("c", "ASCENDING")),
    )
    check_query(merged, ROOT, pb(q))
    partial = config(index("tasks", ("a", "ASCENDING"), ("c", "ASCENDING")))
    assert missing(partial, q)["fields"][-1] == {"fieldPath": "c", "order": "ASCENDING"}
    # An index on a different collection group does not help.
    other = config(index("other", ("a", "ASCENDING"), ("b", "ASCENDING"), ("c", "ASCENDING")))
    missing(other, q)


def test_array_contains_with_order_needs_contains_field(client: Any) -> None:
    q = (
        client.collection("t")
        .where(filter=FieldFilter("tags", "array_contains", "x"))
        .order_by("n")
    )
    assert missing(config(), q) == index("t", ("tags", "CONTAINS"), ("n", "ASCENDING"))
    check_query(config(index("t", ("tags", "CONTAINS"), ("n", "ASCENDING"))), ROOT, pb(q))


def test_or_queries_are_checked_per_disjunction(client: Any) -> None:
    q = (
        client.collection("t")
        .where(filter=Or([FieldFilter("a", "==", 1), FieldFilter("b", "==", 2)]))
        .order_by("n")
    )
    cfg = config(index("t", ("a", "ASCENDING"), ("n", "ASCENDING")))
    assert missing(cfg, q) == index("t", ("b", "ASCENDING"), ("n", "ASCENDING"))
    cfg.composites.extend(config(index("t", ("b", "ASCENDING"), ("n", "ASCENDING"))).composites)
    check_query(cfg, ROOT, pb(q))


def test_collection_group_single_field_needs_override(client: Any) -> None:
    q = client.collection_group("pets").where(filter=FieldFilter("age", ">", 1))
    wanted = missing(config(), q)
    assert wanted == {
        "collectionGroup": "pets",
        "fieldPath": "age",
        "indexes": [{"queryScope": "COLLECTION_GROUP", "order": "ASCENDING"}],
    }
    check_query(config(overrides=[wanted]), ROOT, pb(q))
    # Equality-only collection group queries also need the single-field index.
    missing(config(), client.collection_group("pets").where(filter=FieldFilter("a", "==", 1)))
    # Plain collection group scans run on __name__.
    check_query(config(), ROOT, pb(client.collection_group("pets")))


def test_exemption_disables_single_field_index(client: Any) -> None:
    exempt = config(overrides=[{"collectionGroup": "logs", "fieldPath": "blob", "indexes": []}])
    missing(exempt, client.collection("logs").where(filter=FieldFilter("blob", "==", "x")))
    check_query(exempt, ROOT, pb(client.collection("logs").where(filter=FieldFilter("x", "==", 1))))


def test_find_nearest_needs_vector_index(client: Any) -> None:
    col = client.collection("docs")
    q = col.find_nearest("e", Vector([1.0, 2.0]), limit=3, distance_measure=DistanceMeasure.COSINE)
    assert missing(config(), q) == index("docs", ("e", "VECTOR2"))
    check_query(config(index("docs", ("e", "VECTOR2"))), ROOT, pb(q))
    missing(config(index("docs", ("e", "VECTOR3"))), q)
    filtered = col.where(filter=FieldFilter("k", "==", 1)).find_nearest(
        "e", Vector([1.0, 2.0]), limit=3, distance_measure=DistanceMeasure.COSINE
    )
    assert missing(config(index("docs", ("e", "VECTOR2"))), filtered) == index(
        "docs", ("k", "ASCENDING"), ("e", "VECTOR2")
    )
    check_query(config(index("docs", ("k", "ASCENDING"), ("e", "VECTOR2"))), ROOT, pb(filtered))


def test_aggregations_over_a_field(client: Any) -> None:
    q = client.collection("t").where(filter=FieldFilter("a", "==", 1)).sum("n")
    agg = q._to_protobuf()._pb
    with pytest.raises(EmulatorError):
        check_aggregation(config(), ROOT, agg)
    check_aggregation(config(index("t", ("a", "ASCENDING"), ("n", "ASCENDING"))), ROOT, agg)
    count = (
        client.collection("t").where(filter=FieldFilter("a", "==", 1)).count()._to_protobuf()._pb
    )
    check_aggregation(config(), ROOT, count)


def test_config_parsing_rejects_bad_fields() -> None:
    with pytest.raises(ValueError):
        IndexConfig.from_json(
            {"indexes": [{"collectionGroup": "x", "fields": [{"fieldPath": "a"}]}]}
        )


def test_indexes_serve_only_their_scope(client: Any) -> None:
    q = client.collection("t").where(filter=FieldFilter("a", "==", 1)).order_by("n")
    group_index = index("t", ("a", "ASCENDING"), ("n", "ASCENDING"), scope="COLLECTION_GROUP")
    missing(config(group_index), q)
    group_query = client.collection_group("t").where(filter=FieldFilter("a", "==", 1)).order_by("n")
    check_query(config(group_index), ROOT, pb(group_query))


def test_ttl_only_override_keeps_automatic_indexes(client: Any) -> None:
    ttl = config(overrides=[{"collectionGroup": "logs", "fieldPath": "expiresAt", "ttl": True}])
    check_query(
        ttl, ROOT, pb(client.collection("logs").where(filter=FieldFilter("expiresAt", "<", 5)))
    )


def test_repository_index_file_parses() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
    if not path.exists():
        pytest.skip(f"{path} does not exist")
    config_ = IndexConfig.from_file(str(path))
    assert config_.composites
