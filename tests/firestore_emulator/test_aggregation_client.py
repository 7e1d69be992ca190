"""RunAggregationQuery conformance through the official client."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.firestore_emulator.test_query_client import seed


def values(aggregation_query: Any) -> dict[str, Any]:
    [results] = aggregation_query.get()
    return {result.alias: result.value for result in results}


@pytest.fixture
def scores(fs_client: Any) -> Any:
    return seed(
        fs_client,
        "scores",
        {
            "a": {"n": 1, "team": "red"},
            "b": {"n": 2, "team": "red"},
            "c": {"n": 3.5, "team": "blue"},
            "d": {"n": "not a number", "team": "blue"},
            "e": {"team": "red"},
        },
    )


def test_count_sum_avg(scores: Any) -> None:
    assert values(scores.count(alias="c")) == {"c": 5}
    red = scores.where(filter=FieldFilter("team", "==", "red"))
    got = values(red.count(alias="c").sum("n", alias="s").avg("n", alias="a"))
    assert got == {"c": 3, "s": 3, "a": 1.5}
    assert isinstance(got["s"], int)
    total = values(scores.sum("n", alias="s"))["s"]
    assert total == 6.5 and isinstance(total, float)
    assert values(scores.limit(2).count(alias="c")) == {"c": 2}


def test_avg_without_numbers_is_null(fs_client: Any, scores: Any) -> None:
    # Checked on the wire: the client decodes a null aggregate as 0.0.
    structured = scores.where(filter=FieldFilter("team", "==", "none")).avg("n", alias="a")
    request = {
        "parent": fs_client._database_string + "/documents",
        "structured_aggregation_query": structured._to_protobuf(),
    }
    [response] = list(fs_client._firestore_api.run_aggregation_query(request=request))
    assert "null_value" in response.result.aggregate_fields["a"]


def test_sum_with_nan_is_nan(fs_client: Any) -> None:
    col = seed(fs_client, "nan", {"a": {"n": 1}, "b": {"n": math.nan}})
    assert math.isnan(values(col.sum("n", alias="s"))["s"])


def test_count_up_to(fs_client: Any, scores: Any) -> None:
    structured = scores.count(alias="c")._to_protobuf()
    structured.aggregations[0].count.up_to = 2
    request = {
        "parent": fs_client._database_string + "/documents",
        "structured_aggregation_query": structured,
    }
    [response] = list(fs_client._firestore_api.run_aggregation_query(request=request))
    assert response.result.aggregate_fields["c"].integer_value == 2
    structured.aggregations[0].count.up_to = -1
    with pytest.raises(exceptions.InvalidArgument):
        list(fs_client._firestore_api.run_aggregation_query(request=request))
