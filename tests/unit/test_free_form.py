"""aide.domain.free_form refuses what Firestore would refuse, located at the offending value: the
400's details name the field path the client sent (`settings.a.n`, `tasks.0.inputs`)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from aide.domain.agents import AgentTaskRequest
from aide.domain.free_form import MAX_INTEGER, MIN_INTEGER, storable_map
from aide.domain.projects import ProjectCreate, ProjectUpdate
from aide.domain.task_groups import TaskGroupCreate
from aide.domain.tasks import TaskCreate

BIG = 2**70


def _task(inputs: Any) -> dict[str, Any]:
    return {"title": "abc", "description": "0123456789ab", "inputs": inputs}


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [
        (".".join(str(part) for part in error["loc"]), error["msg"])
        for error in caught.value.errors()
    ]


@pytest.mark.parametrize(
    ("model", "data", "field", "message"),
    [
        (TaskCreate, _task({"": 1}), "inputs", "empty key"),
        (TaskCreate, _task({"a": {"": 1}}), "inputs.a", "empty key"),
        (TaskCreate, _task({"n": BIG}), "inputs.n", "integer outside the signed 64-bit range"),
        (TaskCreate, _task({"n": [0, {"m": -BIG}]}), "inputs.n.1.m", "signed 64-bit"),
        (TaskCreate, _task({"n": MAX_INTEGER + 1}), "inputs.n", "signed 64-bit"),
        (TaskCreate, _task({"n": MIN_INTEGER - 1}), "inputs.n", "signed 64-bit"),
        (TaskCreate, _task({"a": {"__b__": 1}}), "inputs.a.__b__", "reserved key"),
        (TaskCreate, _task({"a": [[1]]}), "inputs.a.0", "array directly inside an array"),
        (
            TaskGroupCreate,
            {"tasks": [{"ref": "a", **_task({"": 1})}]},
            "tasks.0.inputs",
            "empty key",
        ),
        (
            TaskGroupCreate,
            {"tasks": [{"ref": "a", **_task({"n": BIG})}]},
            "tasks.0.inputs.n",
            "signed 64-bit",
        ),
        (
            AgentTaskRequest,
            {"task": {"description": "0123456789ab", "inputs": {"n": BIG}}},
            "task.inputs.n",
            "signed 64-bit",
        ),
        (ProjectCreate, {"name": "abc", "settings": {"n": BIG}}, "settings.n", "signed 64-bit"),
        (ProjectUpdate, {"settings": {"a": {"n": BIG}}}, "settings.a.n", "signed 64-bit"),
    ],
)
def test_refusals_name_the_field_path(
    model: type[BaseModel], data: dict[str, Any], field: str, message: str
) -> None:
    [(located, text)] = _errors(model, data)
    assert located == field
    assert message in text


def test_the_bounds_and_other_values_pass() -> None:
    value = {
        "max": MAX_INTEGER,
        "min": MIN_INTEGER,
        "flag": True,
        "ratio": 1e300,
        "list": [1, "x", None, {"n": MAX_INTEGER}],
        "___": 1,
        "__a": 2,
    }
    assert storable_map(value) == value
    assert TaskCreate.model_validate(_task(value)).inputs == value


def test_a_refusal_is_a_value_error() -> None:
    # Callers (and pydantic) treat validators' ValueErrors as the client's input error.
    with pytest.raises(ValueError):
        storable_map({"n": BIG})
