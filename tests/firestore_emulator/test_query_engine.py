"""Pure tests of the query engine: protobuf queries built by the official client's Query
objects (exactly what it sends over the wire), run over an in-memory document source."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or
from google.cloud.firestore_v1.vector import Vector

from emulators.firestore.errors import EmulatorError
from emulators.firestore.protos import Document
from emulators.firestore.query import matches, run_query

ROOT = "projects/p/databases/(default)/documents"


class MemorySource:
    """DocumentSource over a dict of name -> Document."""

    def __init__(self, docs: Iterable[Any]) -> None:
        self.docs = {d.name: d for d in docs}

    def collection(self, parent: str, collection_id: str) -> Iterable[Any]:
        prefix = f"{parent}/{collection_id}/"
        return [
            d for n, d in self.docs.items() if n.startswith(prefix) and "/" not in n[len(prefix) :]
        ]

    def collection_group(self, parent: str, collection_id: str) -> Iterable[Any]:
        out = []
        for name, doc in self.docs.items():
            if not name.startswith(parent + "/"):
                continue
            if collection_id and name.rsplit("/", 2)[-2] != collection_id:
                continue
            out.append(doc)
        return out


def make_doc(path: str, data: dict[str, Any]) -> Any:
    doc = Document()
    doc.name = f"{ROOT}/{path}"
    for key, value in _helpers.encode_dict(data).items():
        doc.fields[key].CopyFrom(value._pb)
    return doc


@pytest.fixture(scope="module")
def client() -> firestore.Client:
    return firestore.Client(project="p", credentials=AnonymousCredentials())


def pb(query: Any) -> Any:
    if not hasattr(query, "_to_protobuf"):
        query = query._query()  # a CollectionReference
    return query._to_protobuf()._pb


def ids(docs: list[Any]) -> list[str]:
    return [d.name.rsplit("/", 1)[-1] for d in docs]


def run(source: MemorySource, query: Any, parent: str = ROOT) -> list[str]:
    return ids(run_query(source, parent, pb(query)))


def expect_invalid(source: MemorySource, query: Any) -> str:
    with pytest.raises(EmulatorError) as info:
        run_query(source, ROOT, pb(query))
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return info.value.message


@pytest.fixture(scope="module")
def people() -> MemorySource:
    return MemorySource(
        [
            make_doc("people/a", {"age": 30, "name": "ann", "tags": ["x", "y"], "nick": None}),
            make_doc("people/b", {"age": 25.5, "name": "bob", "tags": ["y"]}),
            make_doc("people/c", {"age": "thirty", "name": "cid", "tags": []}),
            make_doc("people/d", {"age": float("nan"), "name": "dee"}),
            make_doc("people/e", {"name": "eve", "nick": "e"}),
            make_doc("people/f", {"age": 30.0, "name": "fay", "m": {"k": 1}}),
            make_doc("people/g", {"age": None, "name": "gus"}),
            make_doc("other/a", {"age": 30}),
            make_doc("people/a/pets/p1", {"age": 3}),
        ]
    )


def test_equality_compares_numbers_numerically(client: Any, people: MemorySource) -> None:
    assert run(people, client.collection("people").where(filter=FieldFilter("age", "==", 30))) == [
        "a",
        "f",
    ]


def test_range_filters_are_type_bracketed(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    # NaN sorts with numbers (below all of them), strings and nulls are other type classes.
    assert run(people, col.where(filter=FieldFilter("age", "<", 28))) == ["d", "b"]
    assert run(people, col.where(filter=FieldFilter("age", ">=", 30))) == ["a", "f"]
    assert run(people, col.where(filter=FieldFilter("age", ">", "a"))) == ["c"]
    assert run(people, col.where(filter=FieldFilter("age", "<=", 25.5))) == ["d", "b"]


def test_not_equal_and_not_in_exclude_missing_and_null(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    got = run(people, col.where(filter=FieldFilter("age", "!=", 30)))
    # ordered by age: NaN < 25.5 < "thirty"
    assert got == ["d", "b", "c"]
    got = run(people, col.where(filter=FieldFilter("age", "not-in", [30, "thirty"])))
    assert got == ["d", "b"]
    assert run(people, col.where(filter=FieldFilter("age", "not-in", [None]))) == []


def test_in_and_array_filters(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    assert run(people, col.where(filter=FieldFilter("age", "in", [25.5, "thirty"]))) == ["b", "c"]
    assert run(people, col.where(filter=FieldFilter("tags", "array_contains", "y"))) == ["a", "b"]
    assert run(people, col.where(filter=FieldFilter("tags", "array_contains_any", ["x", "z"]))) == [
        "a"
    ]


def test_null_and_nan_unary_filters(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    assert run(people, col.where(filter=FieldFilter("age", "==", None))) == ["g"]
    assert run(people, col.where(filter=FieldFilter("age", "==", math.nan))) == ["d"]
    # != null: every present non-null value, ordered by age (NaN, 25.5, 30, 30.0, "thirty")
    assert run(people, col.where(filter=FieldFilter("age", "!=", None))) == [
        "d",
        "b",
        "a",
        "f",
        "c",
    ]
    assert run(people, col.where(filter=FieldFilter("age", "!=", math.nan))) == ["b", "a", "f", "c"]


def test_nested_field_paths(client: Any, people: MemorySource) -> None:
    assert run(people, client.collection("people").where(filter=FieldFilter("m.k", "==", 1))) == [
        "f"
    ]


def test_composite_or_and(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    q = col.where(
        filter=Or(
            [
                FieldFilter("name", "==", "eve"),
                And([FieldFilter("age", "==", 30), FieldFilter("tags", "array_contains", "x")]),
            ]
        )
    )
    assert run(people, q) == ["a", "e"]
    # An inequality anywhere implicitly orders by its field, which drops documents missing it
    # even when they match another branch of the OR.
    q = col.where(filter=Or([FieldFilter("name", "==", "eve"), FieldFilter("age", ">=", 30)]))
    assert run(people, q) == ["a", "f"]


def test_order_by_excludes_missing_and_uses_cross_type_order(
    client: Any, people: MemorySource
) -> None:
    col = client.collection("people")
    assert run(people, col.order_by("age")) == ["g", "d", "b", "a", "f", "c"]
    assert run(people, col.order_by("age", direction="DESCENDING")) == [
        "c",
        "f",
        "a",
        "b",
        "d",
        "g",
    ]


def test_mixed_directions(client: Any) -> None:
    src = MemorySource([make_doc(f"c/{i}", {"a": i % 2, "b": i}) for i in range(6)])
    q = client.collection("c").order_by("a").order_by("b", direction="DESCENDING")
    assert run(src, q) == ["4", "2", "0", "5", "3", "1"]


def test_implicit_inequality_ordering(client: Any) -> None:
    src = MemorySource(
        [
            make_doc("c/1", {"a": 3, "b": 1}),
            make_doc("c/2", {"a": 1, "b": 2}),
            make_doc("c/3", {"a": 2, "b": 0}),
        ]
    )
    col = client.collection("c")
    # Inequality fields are ordered lexicographically after explicit orders.
    q = col.where(filter=FieldFilter("b", ">=", 0)).where(filter=FieldFilter("a", ">", 0))
    assert run(src, q) == ["2", "3", "1"]
    q = col.where(filter=FieldFilter("a", ">", 0)).order_by("b", direction="DESCENDING")
    assert run(src, q) == ["2", "1", "3"]


def test_cursors_values(client: Any) -> None:
    src = MemorySource([make_doc(f"c/{i}", {"n": i // 2}) for i in range(6)])
    col = client.collection("c").order_by("n")
    assert run(src, col.start_at({"n": 1})) == ["2", "3", "4", "5"]
    assert run(src, col.start_after({"n": 1})) == ["4", "5"]
    assert run(src, col.end_at({"n": 1})) == ["0", "1", "2", "3"]
    assert run(src, col.end_before({"n": 1})) == ["0", "1"]
    desc = client.collection("c").order_by("n", direction="DESCENDING")
    assert run(src, desc.start_after({"n": 2})) == ["3", "2", "1", "0"]


def test_cursor_from_snapshot_includes_name(client: Any) -> None:
    src = MemorySource([make_doc(f"c/{i}", {"n": i // 2}) for i in range(6)])
    snap = client.collection("c").document("2")
    from google.cloud.firestore_v1.document import DocumentSnapshot

    snapshot = DocumentSnapshot(snap, {"n": 1}, True, None, None, None)
    assert run(src, client.collection("c").order_by("n").start_after(snapshot)) == ["3", "4", "5"]
    assert run(src, client.collection("c").order_by("n").end_before(snapshot)) == ["0", "1"]


def test_offset_limit_select(client: Any, people: MemorySource) -> None:
    col = client.collection("people").order_by("name")
    assert run(people, col.offset(2).limit(2)) == ["c", "d"]
    docs = run_query(people, ROOT, pb(col.select(["name"]).limit(1)))
    assert dict(docs[0].fields).keys() == {"name"}
    # The stored document is untouched.
    assert "tags" in people.docs[f"{ROOT}/people/a"].fields
    docs = run_query(people, ROOT, pb(col.select([]).limit(1)))
    assert len(docs[0].fields) == 0 and docs[0].name.endswith("people/a")


def test_collection_group_and_subcollection_parent(client: Any, people: MemorySource) -> None:
    assert run(people, client.collection_group("pets")) == ["p1"]
    q = client.collection_group("people").where(filter=FieldFilter("age", "==", 30))
    assert run(people, q) == ["a", "f"]
    sub = client.collection("people").document("a").collection("pets")
    assert run(people, sub, parent=f"{ROOT}/people/a") == ["p1"]


def test_kindless_query_over_all_documents(people: MemorySource) -> None:
    from emulators.firestore.protos import StructuredQuery

    q = StructuredQuery()
    q.from_.add(collection_id="", all_descendants=True)
    assert len(run_query(people, ROOT, q)) == len(people.docs)


def test_matches_checks_scope_and_filters(client: Any, people: MemorySource) -> None:
    q = pb(client.collection("people").where(filter=FieldFilter("age", "==", 30)))
    assert matches(people.docs[f"{ROOT}/people/a"], ROOT, q)
    assert not matches(people.docs[f"{ROOT}/other/a"], ROOT, q)
    assert not matches(people.docs[f"{ROOT}/people/b"], ROOT, q)


def test_invalid_queries(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    assert "30" in expect_invalid(
        people, col.where(filter=FieldFilter("age", "in", list(range(31))))
    )
    expect_invalid(
        people,
        col.where(filter=FieldFilter("age", "not-in", [1])).where(
            filter=FieldFilter("name", "!=", "x")
        ),
    )
    expect_invalid(
        people,
        col.where(filter=FieldFilter("tags", "array_contains", 1)).where(
            filter=FieldFilter("tags", "array_contains_any", [1])
        ),
    )
    q = pb(col.order_by("age"))
    q.start_at.values.add().integer_value = 1
    q.start_at.values.add().integer_value = 2
    q.start_at.values.add().integer_value = 3
    with pytest.raises(EmulatorError):
        run_query(people, ROOT, q)
    q = pb(col)
    q.limit.value = -1
    with pytest.raises(EmulatorError):
        run_query(people, ROOT, q)
    disjunctions = Or(
        [FieldFilter("age", "in", list(range(10))), FieldFilter("x", "in", list(range(21)))]
    )
    assert "disjunctions" in expect_invalid(people, col.where(filter=disjunctions))


def test_multiple_inequality_fields_are_allowed(client: Any, people: MemorySource) -> None:
    col = client.collection("people")
    q = (
        col.where(filter=FieldFilter("age", ">", 1))
        .where(filter=FieldFilter("name", "<", "z"))
        .order_by("name")
    )
    assert run(people, q) == ["a", "b", "f"]


def vec_source() -> MemorySource:
    return MemorySource(
        [
            make_doc("v/a", {"e": Vector([1.0, 0.0]), "k": 1}),
            make_doc("v/b", {"e": Vector([0.0, 2.0]), "k": 1}),
            make_doc("v/c", {"e": Vector([3.0, 3.0]), "k": 2}),
            make_doc("v/d", {"e": Vector([1.0, 1.0, 1.0]), "k": 1}),
            make_doc("v/e", {"e": [1.0, 0.0], "k": 1}),
        ]
    )


def test_find_nearest_measures(client: Any) -> None:
    from google.cloud.firestore_v1.base_vector_query import DistanceMeasure

    src = vec_source()
    col = client.collection("v")
    q = col.find_nearest(
        "e",
        Vector([1.0, 0.0]),
        limit=5,
        distance_measure=DistanceMeasure.EUCLIDEAN,
        distance_result_field="dist",
    )
    docs = run_query(src, ROOT, pb(q))
    assert ids(docs) == ["a", "b", "c"]
    assert [d.fields["dist"].double_value for d in docs] == pytest.approx(
        [0.0, math.sqrt(5), math.sqrt(13)]
    )
    assert "dist" not in src.docs[f"{ROOT}/v/a"].fields
    q = col.find_nearest(
        "e", Vector([1.0, 0.0]), limit=2, distance_measure=DistanceMeasure.DOT_PRODUCT
    )
    assert ids(run_query(src, ROOT, pb(q))) == ["c", "a"]
    q = col.find_nearest(
        "e",
        Vector([1.0, 1.0]),
        limit=3,
        distance_measure=DistanceMeasure.COSINE,
        distance_threshold=0.1,
    )
    assert ids(run_query(src, ROOT, pb(q))) == ["c"]
    q = col.where(filter=FieldFilter("k", "==", 1)).find_nearest(
        "e",
        Vector([1.0, 0.0]),
        limit=5,
        distance_measure=DistanceMeasure.DOT_PRODUCT,
        distance_threshold=0.5,
    )
    assert ids(run_query(src, ROOT, pb(q))) == ["a"]


def test_find_nearest_ranks_what_order_and_limit_leave(client: Any) -> None:
    from google.cloud.firestore_v1.base_vector_query import DistanceMeasure

    # find_nearest is the last stage: it ranks the first two documents by k, then name.
    q = (
        client.collection("v")
        .order_by("k", direction="DESCENDING")
        .limit(2)
        .find_nearest("e", Vector([1.0, 0.0]), limit=5, distance_measure=DistanceMeasure.EUCLIDEAN)
    )
    assert ids(run_query(vec_source(), ROOT, pb(q))) == ["c"]


def test_find_nearest_limit_bounds(client: Any) -> None:
    from google.cloud.firestore_v1.base_vector_query import DistanceMeasure

    q = client.collection("v").find_nearest(
        "e", Vector([1.0, 0.0]), limit=1001, distance_measure=DistanceMeasure.EUCLIDEAN
    )
    with pytest.raises(EmulatorError):
        run_query(vec_source(), ROOT, pb(q))


def test_small_limits_agree_with_full_ordering(client: Any) -> None:
    import random

    rng = random.Random(3)
    src = MemorySource([make_doc(f"c/{i:03d}", {"n": rng.randrange(20)}) for i in range(200)])
    for direction in ("ASCENDING", "DESCENDING"):
        ordered = client.collection("c").order_by("n", direction=direction)
        full = run(src, ordered)
        assert run(src, ordered.limit(7)) == full[:7]
        assert run(src, ordered.offset(3).limit(5)) == full[3:8]


def test_recursive_kindless_query_with_numeric_id_cursors(client: Any) -> None:
    # The client's recursive() (used by recursive_delete) sends a kind-less query bounded by
    # __name__ cursors at the minimum numeric id, which sorts before every string id.
    src = MemorySource(
        [
            make_doc("people/A1", {}),
            make_doc("people/b", {}),
            make_doc("people/b/pets/x", {}),
            make_doc("peoplex/z", {}),
            make_doc("other/1", {}),
        ]
    )
    got = [
        d.name[len(ROOT) + 1 :]
        for d in run_query(src, ROOT, pb(client.collection("people").recursive()))
    ]
    assert got == ["people/A1", "people/b", "people/b/pets/x"]
