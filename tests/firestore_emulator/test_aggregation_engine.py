"""Pure tests of run_aggregation over an in-memory source."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.firestore.aggregation import run_aggregation
from emulators.firestore.errors import EmulatorError
from tests.firestore_emulator.test_query_engine import ROOT, MemorySource, make_doc


@pytest.fixture(scope="module")
def client() -> firestore.Client:
    return firestore.Client(project="p", credentials=AnonymousCredentials())


def aggregate(source: MemorySource, agg_query: Any) -> dict[str, Any]:
    results, _ = run_aggregation(source, ROOT, agg_query._to_protobuf()._pb)
    out: dict[str, Any] = {}
    for alias, value in results.items():
        kind = value.WhichOneof("value_type")
        out[alias] = None if kind == "null_value" else getattr(value, kind)
    return out


def source(*values: Any) -> MemorySource:
    return MemorySource([make_doc(f"c/{i}", {"n": v, "k": i % 2}) for i, v in enumerate(values)])


def test_count_with_up_to_and_scanned(client: Any) -> None:
    src = source(1, 2, 3, 4, 5)
    col = client.collection("c")
    assert aggregate(src, col.count(alias="all")) == {"all": 5}
    agg = col.where(filter=FieldFilter("k", "==", 0)).count(alias="even")
    assert aggregate(src, agg) == {"even": 3}
    assert aggregate(src, col.limit(2).count(alias="c")) == {"c": 2}
    pbq = col.count(alias="c")._to_protobuf()._pb
    pbq.aggregations[0].count.up_to.value = 3
    results, scanned = run_aggregation(src, ROOT, pbq)
    assert results["c"].integer_value == 3 and scanned == 3
    pbq.aggregations[0].count.up_to.value = 0
    with pytest.raises(EmulatorError):
        run_aggregation(src, ROOT, pbq)


def test_sum_stays_integer_until_double_or_overflow(client: Any) -> None:
    col = client.collection("c")
    assert aggregate(source(1, 2, "x", None), col.sum("n", alias="s")) == {"s": 3}
    result = aggregate(source(1, 2.5), col.sum("n", alias="s"))
    assert result == {"s": 3.5} and isinstance(result["s"], float)
    big = aggregate(source(2**63 - 1, 1), col.sum("n", alias="s"))["s"]
    assert isinstance(big, float) and big == pytest.approx(2.0**63)
    assert math.isnan(aggregate(source(1, math.nan), col.sum("n", alias="s"))["s"])
    assert math.isnan(aggregate(source(math.inf, -math.inf), col.sum("n", alias="s"))["s"])
    assert aggregate(source("a"), col.sum("n", alias="s")) == {"s": 0}


def test_avg(client: Any) -> None:
    col = client.collection("c")
    assert aggregate(source(1, 2, "x"), col.avg("n", alias="a")) == {"a": 1.5}
    assert aggregate(source("x"), col.avg("n", alias="a")) == {"a": None}
    assert aggregate(source(), col.avg("n", alias="a")) == {"a": None}


def test_several_aggregations_at_once(client: Any) -> None:
    agg = client.collection("c").count(alias="c").sum("n", alias="s").avg("n", alias="a")
    assert aggregate(source(2, 4), agg) == {"c": 2, "s": 6, "a": 3.0}
