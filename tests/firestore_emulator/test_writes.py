"""Commit semantics through the official client: set, merge, update paths, preconditions,
transforms with their transform_results, no-op writes, and atomic batches."""

from __future__ import annotations

import datetime
import math

import pytest
from google.api_core import exceptions
from google.cloud import firestore

INT64_MAX = 2**63 - 1


def test_set_replaces_and_merge_keeps_other_fields(fs_client):
    ref = fs_client.collection("things").document("a")
    ref.set({"name": "first", "nested": {"keep": 1, "change": 1}, "gone": True})
    ref.set({"name": "second", "nested": {"keep": 1, "change": 1}})
    assert ref.get().to_dict() == {"name": "second", "nested": {"keep": 1, "change": 1}}

    ref.set({"nested": {"change": 2}, "added": "x"}, merge=True)
    assert ref.get().to_dict() == {
        "name": "second",
        "nested": {"keep": 1, "change": 2},
        "added": "x",
    }

    ref.set({"nested": {"change": 3}, "name": "ignored"}, merge=["nested.change"])
    assert ref.get().to_dict()["nested"] == {"keep": 1, "change": 3}
    assert ref.get().to_dict()["name"] == "second"


def test_update_dotted_and_quoted_paths_and_delete_field(fs_client):
    ref = fs_client.collection("things").document("b")
    ref.set({"a": {"b": 1, "c": 2}, "top": 1, "x.y": "literal"})
    ref.update(
        {
            "a.b": 10,
            "a.new.deep": True,
            "top": firestore.DELETE_FIELD,
            "`x.y`": "quoted",
        }
    )
    assert ref.get().to_dict() == {
        "a": {"b": 10, "c": 2, "new": {"deep": True}},
        "x.y": "quoted",
    }
    ref.update({"a.c": firestore.DELETE_FIELD})
    assert ref.get().to_dict()["a"] == {"b": 10, "new": {"deep": True}}


def test_preconditions_use_firestore_status_codes(fs_client):
    ref = fs_client.collection("things").document("c")
    with pytest.raises(exceptions.NotFound):
        ref.update({"x": 1})
    ref.create({"x": 1})
    with pytest.raises(exceptions.Conflict):  # ALREADY_EXISTS
        ref.create({"x": 2})

    snapshot = ref.get()
    stale = snapshot.update_time
    ref.update({"x": 3}, option=fs_client.write_option(last_update_time=stale))
    with pytest.raises(exceptions.FailedPrecondition):
        ref.update({"x": 4}, option=fs_client.write_option(last_update_time=stale))
    with pytest.raises(exceptions.FailedPrecondition):
        ref.delete(option=fs_client.write_option(last_update_time=stale))
    assert ref.get().to_dict() == {"x": 3}
    ref.delete(option=fs_client.write_option(last_update_time=ref.get().update_time))
    assert not ref.get().exists


def test_every_transform_returns_its_result(fs_client):
    ref = fs_client.collection("things").document("d")
    ref.set({"n": 5, "f": 1.5, "big": INT64_MAX, "hi": 3, "lo": 3, "arr": [1, 2, 2, 3]})
    batch = fs_client.batch()
    batch.update(
        ref,
        {
            "n": firestore.Increment(2),
            "f": firestore.Increment(1),
            "big": firestore.Increment(10),
            "fresh": firestore.Increment(7),
            "hi": firestore.Maximum(2.5),
            "lo": firestore.Minimum(1.5),
            "arr": firestore.ArrayUnion([3, 4, 4.0, 5]),
            "when": firestore.SERVER_TIMESTAMP,
        },
    )
    batch.update(ref, {"arr": firestore.ArrayRemove([2, 5.0])})
    results = batch.commit()
    first = list(results[0].transform_results)
    # Field transforms are sent in sorted field-path order by the client.
    by_field = dict(zip(["arr", "big", "f", "fresh", "hi", "lo", "n", "when"], first, strict=True))
    assert by_field["n"].integer_value == 7
    assert by_field["f"].double_value == 2.5
    assert by_field["big"].integer_value == INT64_MAX  # integer overflow saturates
    assert by_field["fresh"].integer_value == 7
    assert by_field["hi"].integer_value == 3  # maximum keeps the larger stored value
    assert by_field["lo"].double_value == 1.5
    assert "null_value" in by_field["arr"]  # array transforms return null
    commit_time = results[0].update_time
    assert by_field["when"].timestamp_value == commit_time

    data = ref.get().to_dict()
    assert data["n"] == 7 and data["f"] == 2.5 and data["big"] == INT64_MAX
    assert data["fresh"] == 7 and data["hi"] == 3 and data["lo"] == 1.5
    assert data["arr"] == [1, 3, 4]
    assert isinstance(data["when"], datetime.datetime)


def test_increment_mixed_types_and_nan_extremes(fs_client):
    ref = fs_client.collection("things").document("e")
    ref.set({"i": 1, "s": "text", "m": 3.0, "nan": 1})
    ref.update(
        {
            "i": firestore.Increment(0.5),
            "s": firestore.Increment(2),
            "m": firestore.Maximum(3),
            "nan": firestore.Maximum(float("nan")),
        }
    )
    data = ref.get().to_dict()
    assert data["i"] == 1.5 and isinstance(data["i"], float)
    assert data["s"] == 2  # a non-numeric field is replaced by the operand
    assert data["m"] == 3.0 and isinstance(data["m"], float)  # equal operands keep stored
    assert math.isnan(data["nan"])


def test_no_op_write_keeps_update_time(fs_client):
    ref = fs_client.collection("things").document("f")
    first = ref.set({"same": 1})
    again = ref.set({"same": 1})
    assert again.update_time == first.update_time
    changed = ref.set({"same": 2})
    assert changed.update_time > first.update_time


def test_commit_is_atomic(fs_client):
    existing = fs_client.collection("things").document("g")
    existing.set({"v": 1})
    other = fs_client.collection("things").document("h")
    batch = fs_client.batch()
    batch.set(other, {"v": 2})
    batch.update(existing, {"v": 3})
    batch.create(existing, {"v": 4})  # fails: document exists
    with pytest.raises(exceptions.Conflict):
        batch.commit()
    assert not other.get().exists
    assert existing.get().to_dict() == {"v": 1}


def test_invalid_document_paths_are_rejected(fs_client):
    from google.cloud.firestore_v1.types import write as write_types

    bad = write_types.Write(
        update={"name": f"{fs_client._database_string}/documents/only-a-collection"}
    )
    with pytest.raises(exceptions.InvalidArgument):
        fs_client._firestore_api.commit(
            request={"database": fs_client._database_string, "writes": [bad]}
        )
