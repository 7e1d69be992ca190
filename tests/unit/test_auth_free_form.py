"""Free-form maps clients send (settings, inputs) are refused at validation, not by Firestore."""

from __future__ import annotations

from typing import Any

import pytest

from aide.domain.free_form import MAX_DEPTH, storable_map
from aide.domain.projects import ProjectCreate
from aide.domain.users import UserUpdate


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def test_ordinary_maps_pass() -> None:
    value = {"color": "blue", "limits": {"a": [1, {"b": None}], "c": True}}
    assert storable_map(value) == value
    assert storable_map(nested(MAX_DEPTH)) == nested(MAX_DEPTH)


@pytest.mark.parametrize(
    "value",
    [{"": 1}, {"a": {"": 1}}, {"__name__": 1}, {"a": [[1, 2]]}, nested(MAX_DEPTH + 1)],
    ids=["empty-key", "nested-empty-key", "reserved", "array-in-array", "too-deep"],
)
def test_maps_firestore_would_refuse_are_invalid(value: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        storable_map(value)
    with pytest.raises(ValueError):
        ProjectCreate.model_validate({"name": "Apollo", "settings": value})
    with pytest.raises(ValueError):
        UserUpdate.model_validate({"preferences": {"defaultAgentSettings": value}})
