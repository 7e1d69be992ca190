"""Parsing client JSON: nesting bounded without ever recursing out, numbers Firestore can store."""

from __future__ import annotations

import pytest

from aide.entrypoints import errors
from aide.entrypoints.json_text import MAX_DEPTH, MAX_INTEGER, MIN_INTEGER, loads


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_bound_parses() -> None:
    value = loads(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 1_000_000])
def test_nesting_past_the_bound_is_malformed_json_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(errors.MalformedJson) as raised:
        loads(nested(depth))
    assert raised.value.details == {"maxDepth": MAX_DEPTH}


def test_the_signed_64_bit_bounds_and_finite_extremes_parse() -> None:
    text = f'{{"max":{MAX_INTEGER},"min":{MIN_INTEGER},"big":1.7976931348623157e308,"tiny":1e-400}}'
    assert loads(text) == {
        "max": MAX_INTEGER,
        "min": MIN_INTEGER,
        "big": 1.7976931348623157e308,
        "tiny": 0.0,
    }


def test_unstorable_numbers_are_named_by_their_path_in_order() -> None:
    text = '{"z":1e400,"a":[1,{"b":-1e400}],"n":' + "7" * 5_000 + ',"m":-9223372036854775809}'
    with pytest.raises(errors.ValidationFailed) as raised:
        loads(text)
    assert [(d["field"], d["type"]) for d in raised.value.details] == [
        ("a.1.b", "number"),
        ("m", "number"),
        ("n", "number"),
        ("z", "number"),
    ]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_not_json(constant: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        loads(f'{{"x":{constant}}}')
