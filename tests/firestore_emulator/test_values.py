"""order_key must agree with the client library's reference ordering (Order.compare)."""

from __future__ import annotations

import datetime
import itertools
import math
from typing import Any

from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1._helpers import GeoPoint
from google.cloud.firestore_v1.order import Order
from google.cloud.firestore_v1.vector import Vector

from emulators.firestore.values import compare, equals, order_key

REF = "projects/p/databases/(default)/documents/"


def encode(value: Any) -> Any:
    return _helpers.encode_value(value)._pb


def ref(path: str) -> Any:
    v = encode(None)
    v.reference_value = REF + path
    return v


# Ascending Firestore order; entries in one inner list are equal.
ORDERED: list[list[Any]] = [
    [encode(None)],
    [encode(False)],
    [encode(True)],
    [encode(math.nan)],
    [encode(-math.inf)],
    [encode(-(2**63))],
    [encode(-1.5)],
    [encode(0), encode(-0.0), encode(0.0)],
    [encode(1), encode(1.0)],
    [encode(2**53 + 1)],
    [encode(math.inf)],
    [encode(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))],
    [encode(datetime.datetime(2020, 1, 1, 0, 0, 0, 1, tzinfo=datetime.UTC))],
    [encode("")],
    [encode("a")],
    [encode("ab")],
    [encode("b")],
    [encode("é")],
    [encode(b"")],
    [encode(b"\x00")],
    [encode(b"\x01")],
    [ref("a/b")],
    [ref("a/b/c/d")],
    [ref("a/c")],
    [encode(GeoPoint(-10, 50))],
    [encode(GeoPoint(1, -5))],
    [encode(GeoPoint(1, 5))],
    [encode([])],
    [encode([1]), encode([1.0])],
    [encode([1, "a"])],
    [encode([2])],
    [encode(Vector([9.0]))],
    [encode(Vector([1.0, 2.0]))],
    [encode(Vector([1.0, 3.0]))],
    [encode({})],
    [encode({"a": 1})],
    [encode({"a": 1, "b": 0})],
    [encode({"a": 2})],
    [encode({"b": 0})],
]


def test_order_key_matches_documented_order() -> None:
    flat = [(rank, v) for rank, group in enumerate(ORDERED) for v in group]
    for (rank_a, a), (rank_b, b) in itertools.product(flat, repeat=2):
        expected = (rank_a > rank_b) - (rank_a < rank_b)
        assert compare(a, b) == expected, (a, b)
        assert equals(a, b) == (expected == 0)


def test_order_key_agrees_with_client_order() -> None:
    flat = [v for group in ORDERED for v in group]
    for a, b in itertools.product(flat, repeat=2):
        assert compare(a, b) == Order.compare(a, b), (a, b)


def test_equal_values_hash_alike() -> None:
    assert hash(order_key(encode(1))) == hash(order_key(encode(1.0)))
    assert order_key(encode(math.nan)) == order_key(encode(math.nan))


def test_numeric_document_ids_sort_before_string_ids() -> None:
    lowest = ref("c/__id-9223372036854775808__")
    assert compare(lowest, ref("c/0")) < 0
    assert compare(lowest, ref("c/A")) < 0
    assert compare(ref("c/__id5__"), ref("c/__id12__")) < 0
    assert compare(ref("c/__id12__"), ref("c/!")) < 0
