"""RunQuery conformance through the official client (runs against any Firestore emulator)."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1._helpers import GeoPoint
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.vector import Vector


def seed(client: Any, path: str, docs: dict[str, dict[str, Any]]) -> Any:
    col = client.collection(path)
    batch = client.batch()
    for doc_id, data in docs.items():
        batch.set(col.document(doc_id), data)
    batch.commit()
    return col


def ids(query: Any) -> list[str]:
    return [snapshot.id for snapshot in query.stream()]


def where(path: str, op: str, value: Any) -> FieldFilter:
    return FieldFilter(path, op, value)


@pytest.fixture
def people(fs_client: Any) -> Any:
    return seed(
        fs_client,
        "people",
        {
            "a": {"age": 30, "name": "ann", "tags": ["x", "y"], "nick": None},
            "b": {"age": 25.5, "name": "bob", "tags": ["y"]},
            "c": {"age": "thirty", "name": "cid", "tags": []},
            "d": {"age": math.nan, "name": "dee"},
            "e": {"name": "eve", "nick": "e"},
            "f": {"age": 30.0, "name": "fay", "m": {"k": 1}},
            "g": {"age": None, "name": "gus"},
        },
    )


def test_equality_and_range_filters(people: Any) -> None:
    assert ids(people.where(filter=where("age", "==", 30))) == ["a", "f"]
    # Range filters only match their operand's type class; NaN sorts below all numbers.
    assert ids(people.where(filter=where("age", "<", 28))) == ["d", "b"]
    assert ids(people.where(filter=where("age", "<=", 25.5))) == ["d", "b"]
    assert ids(people.where(filter=where("age", ">", 25.5))) == ["a", "f"]
    assert ids(people.where(filter=where("age", ">=", "a"))) == ["c"]


def test_not_equal_and_not_in_skip_missing_and_null(people: Any) -> None:
    assert ids(people.where(filter=where("age", "!=", 30))) == ["d", "b", "c"]
    assert ids(people.where(filter=where("age", "not-in", [30, "thirty"]))) == ["d", "b"]


def test_in_array_contains_and_array_contains_any(people: Any) -> None:
    assert ids(people.where(filter=where("age", "in", [25.5, "thirty"]))) == ["b", "c"]
    assert ids(people.where(filter=where("tags", "array_contains", "y"))) == ["a", "b"]
    assert ids(people.where(filter=where("tags", "array_contains_any", ["x", "q"]))) == ["a"]


def test_null_and_nan_filters(people: Any) -> None:
    assert ids(people.where(filter=where("age", "==", None))) == ["g"]
    assert ids(people.where(filter=where("age", "==", math.nan))) == ["d"]
    assert ids(people.where(filter=where("age", "!=", None))) == ["d", "b", "a", "f", "c"]
    assert ids(people.where(filter=where("age", "!=", math.nan))) == ["b", "a", "f", "c"]


def test_nested_field_and_document_id_filters(people: Any) -> None:
    assert ids(people.where(filter=where("m.k", "==", 1))) == ["f"]
    ref = people.document("c")
    assert ids(people.where(filter=where(FieldPath.document_id(), ">=", ref))) == [
        "c",
        "d",
        "e",
        "f",
        "g",
    ]


def test_composite_and_or_nested(people: Any) -> None:
    nested = Or(
        [
            where("name", "==", "eve"),
            And([where("age", "==", 30), where("tags", "array_contains", "x")]),
        ]
    )
    assert ids(people.where(filter=nested)) == ["a", "e"]
    both = And([where("age", ">", 1), where("name", "<", "c")])
    assert ids(people.where(filter=both)) == ["b", "a"]


def test_ordering_multi_field_and_missing_fields_excluded(fs_client: Any) -> None:
    col = seed(
        fs_client,
        "o",
        {str(i): {"a": i % 2, "b": i} for i in range(6)} | {"z": {"b": 99}},
    )
    assert ids(col.order_by("a").order_by("b", direction="DESCENDING")) == [
        "4",
        "2",
        "0",
        "5",
        "3",
        "1",
    ]
    assert ids(col.order_by("a", direction="DESCENDING").limit(2)) == ["5", "3"]
    # Inequality on one field, explicit order on another (allowed by current Firestore).
    q = col.where(filter=where("b", ">", 1)).order_by("a")
    assert ids(q) == ["2", "4", "3", "5"]


def test_cross_type_ordering(fs_client: Any) -> None:
    ts = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    values = [
        None,
        False,
        True,
        math.nan,
        -5,
        1.5,
        2,
        ts,
        "",
        "abc",
        b"\x00",
        fs_client.document("a/b"),
        GeoPoint(1, 2),
        [1, 2],
        Vector([1.0]),
        {"k": 1},
    ]
    col = seed(fs_client, "types", {f"v{i:02d}": {"v": value} for i, value in enumerate(values)})
    expected = [f"v{i:02d}" for i in range(len(values))]
    assert ids(col.order_by("v")) == expected
    assert ids(col.order_by("v", direction="DESCENDING")) == expected[::-1]


@pytest.fixture
def numbered(fs_client: Any) -> Any:
    return seed(fs_client, "n", {f"d{i}": {"n": i // 2, "i": i} for i in range(8)})


def test_cursors_from_values(numbered: Any) -> None:
    q = numbered.order_by("n")
    assert ids(q.start_at({"n": 2})) == ["d4", "d5", "d6", "d7"]
    assert ids(q.start_after({"n": 2})) == ["d6", "d7"]
    assert ids(q.end_at({"n": 1})) == ["d0", "d1", "d2", "d3"]
    assert ids(q.end_before({"n": 1})) == ["d0", "d1"]
    assert ids(q.start_at({"n": 1}).end_before({"n": 3})) == ["d2", "d3", "d4", "d5"]
    desc = numbered.order_by("n", direction="DESCENDING")
    assert ids(desc.start_after({"n": 2})) == ["d3", "d2", "d1", "d0"]


def test_cursors_from_snapshots(numbered: Any) -> None:
    snapshot = numbered.document("d2").get()
    q = numbered.order_by("n")
    assert ids(q.start_after(snapshot)) == ["d3", "d4", "d5", "d6", "d7"]
    assert ids(q.start_at(snapshot).limit(2)) == ["d2", "d3"]
    assert ids(q.end_before(snapshot)) == ["d0", "d1"]
    # Snapshot cursor with an inequality filter: the implicit order includes the field.
    assert ids(numbered.where(filter=where("i", ">", 0)).start_after(snapshot)) == [
        "d3",
        "d4",
        "d5",
        "d6",
        "d7",
    ]


def test_offset_limit_and_limit_to_last(numbered: Any) -> None:
    q = numbered.order_by("i")
    assert ids(q.offset(3).limit(2)) == ["d3", "d4"]
    assert ids(q.offset(10)) == []
    assert ids(q.limit(0)) == []
    assert [s.id for s in q.limit_to_last(3).get()] == ["d5", "d6", "d7"]
    assert [s.id for s in numbered.order_by("n").limit_to_last(3).get()] == ["d5", "d6", "d7"]


def test_collection_group_queries(fs_client: Any) -> None:
    fs_client.document("users/u1/posts/p1").set({"likes": 3})
    fs_client.document("users/u2/posts/p2").set({"likes": 10})
    fs_client.document("posts/p3").set({"likes": 7})
    fs_client.document("users/u1/drafts/x").set({"likes": 100})
    group = fs_client.collection_group("posts")
    assert ids(group.order_by("likes")) == ["p1", "p3", "p2"]
    assert ids(group.where(filter=where("likes", ">", 5))) == ["p3", "p2"]
    sub = fs_client.collection("users/u1/posts")
    assert ids(sub) == ["p1"]


def test_select_returns_only_masked_fields(people: Any) -> None:
    [snapshot] = people.where(filter=where("name", "==", "fay")).select(["name", "m.k"]).get()
    assert snapshot.to_dict() == {"name": "fay", "m": {"k": 1}}
    [empty] = people.where(filter=where("name", "==", "fay")).select([]).get()
    assert empty.to_dict() == {}
    # Projection does not change what is stored.
    assert people.document("f").get().to_dict()["age"] == 30.0


def test_query_inside_transaction(fs_client: Any, numbered: Any) -> None:
    from google.cloud import firestore

    @firestore.transactional
    def read(transaction: Any) -> list[str]:
        return [s.id for s in transaction.get(numbered.where(filter=where("n", "==", 3)))]

    assert read(fs_client.transaction()) == ["d6", "d7"]


def test_invalid_queries_are_rejected(fs_client: Any, people: Any) -> None:
    too_many = people.where(filter=where("age", "in", list(range(31))))
    with pytest.raises(exceptions.InvalidArgument):
        too_many.get()
    with pytest.raises(exceptions.InvalidArgument):
        people.where(filter=where("age", "not-in", [1])).where(
            filter=where("name", "!=", "x")
        ).get()
    with pytest.raises(exceptions.InvalidArgument):
        people.where(filter=where("tags", "array_contains", 1)).where(
            filter=where("tags", "array_contains_any", [2])
        ).get()
    with pytest.raises(exceptions.InvalidArgument):
        people.limit(-1).get()
    # A cursor longer than the ordering, sent as the raw request (the client would refuse).
    structured = people.order_by("age")._to_protobuf()
    structured.start_at = {
        "values": [{"integer_value": 1}, {"string_value": "x"}, {"integer_value": 2}]
    }
    with pytest.raises(exceptions.InvalidArgument):
        list(
            fs_client._firestore_api.run_query(
                request={
                    "parent": fs_client._database_string + "/documents",
                    "structured_query": structured,
                }
            )
        )


def test_recursive_query_returns_all_descendants(fs_client: Any) -> None:
    fs_client.document("people/A1").set({"n": 1})
    fs_client.document("people/b/pets/x").set({"n": 2})
    fs_client.document("peoplex/z").set({"n": 3})
    got = [s.reference.path for s in fs_client.collection("people").recursive().stream()]
    assert got == ["people/A1", "people/b/pets/x"]
