"""Parsing the JSON text a client sent into values every model and Firestore can take.

`json.loads` alone accepts three things that later fail badly: nesting deep enough to exhaust
the interpreter's recursion limit (a RecursionError, i.e. a 500), numbers beyond the double range
(`1e400` becomes +inf, which Firestore stores and JSON cannot render back), and integers too long
for Python's int conversion (an internal message). Here nesting is bounded, and a number that
cannot be stored is refused with a field-level detail naming where it was sent.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from aide.entrypoints.errors import MalformedJson, ValidationFailed

# Far deeper than any request model (a group task's inputs sit 3 levels down and free-form maps
# stop at 16), far shallower than the recursion limit of the parser and of pydantic.
MAX_DEPTH: Final = 64
# Firestore's integerValue is a signed 64-bit integer: 19 digits and a sign at most.
MIN_INTEGER: Final = -(2**63)
MAX_INTEGER: Final = 2**63 - 1
_MAX_INTEGER_CHARS: Final = 20
NUMBER_ERROR_TYPE: Final = "number"


class _Unstorable:
    """Stands in for a number the parser met that no field may hold, until its path is known."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


_OUT_OF_RANGE: Final = _Unstorable("integer outside the signed 64-bit range")
_NOT_FINITE: Final = _Unstorable("number outside the finite double range")


def _parse_int(text: str) -> int | _Unstorable:
    if len(text) > _MAX_INTEGER_CHARS:
        return _OUT_OF_RANGE
    value = int(text)
    return value if MIN_INTEGER <= value <= MAX_INTEGER else _OUT_OF_RANGE


def _parse_float(text: str) -> float | _Unstorable:
    value = float(text)
    return value if math.isfinite(value) else _NOT_FINITE


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def too_deep() -> MalformedJson:
    return MalformedJson(
        f"JSON nested deeper than {MAX_DEPTH} levels", details={"maxDepth": MAX_DEPTH}
    )


def loads(text: str) -> Any:
    """The value of `text`. json.JSONDecodeError / ValueError for text that is not JSON;
    MalformedJson (400) when nested deeper than MAX_DEPTH; ValidationFailed (400) whose details
    name every number no field can hold (`tasks.0.inputs.n`)."""
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise too_deep() from None
    refused = _unstorable_numbers(value)
    if refused:
        raise ValidationFailed(details=refused)
    return value


def _unstorable_numbers(value: Any) -> list[dict[str, str]]:
    """Iterative (no recursion to exhaust): checks depth and collects unstorable numbers."""
    refused: list[dict[str, str]] = []
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, _Unstorable):
            refused.append(
                {"field": ".".join(path), "message": item.message, "type": NUMBER_ERROR_TYPE}
            )
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise too_deep()
            children = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, depth + 1, (*path, str(key))) for key, child in children)
    refused.sort(key=lambda detail: detail["field"])
    return refused
