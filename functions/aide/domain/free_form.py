"""Client-supplied free-form maps (project settings, agent settings, task inputs) that Firestore
will accept: it refuses empty and `__reserved__` field names, nesting deeper than 20 levels, an
array directly inside an array and integers outside the signed 64-bit range with
INVALID_ARGUMENT, which would otherwise surface as a 500 after validation passed.

A refusal is a pydantic error located at the offending value itself (`settings.limits.n`, not
just `settings`), so the 400's field-level details name the exact path the client sent."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from aide.domain.document_ids import is_reserved_name

MAX_DEPTH: Final = 16
# Firestore's integerValue is a signed 64-bit integer.
MIN_INTEGER: Final = -(2**63)
MAX_INTEGER: Final = 2**63 - 1
ERROR_TYPE: Final = "free_form"

Location = tuple[str | int, ...]


class _Refused(Exception):
    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


def _check(value: Any, depth: int, location: Location) -> None:
    """`depth` counts the maps and arrays enclosing `value`, itself included."""
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise _Refused(location, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            raise _Refused(location, "integer outside the signed 64-bit range")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key:
                raise _Refused(location, "empty key")
            if is_reserved_name(key):
                raise _Refused((*location, key), "reserved key (names like __x__ are not allowed)")
            _check(item, depth + 1, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, list):
                raise _Refused((*location, index), "array directly inside an array")
            _check(item, depth + 1, (*location, index))


def storable_map(value: dict[str, Any]) -> dict[str, Any]:
    """`value` unchanged if Firestore can store it; otherwise a ValidationError (a ValueError)
    whose location, relative to the field being validated, is the offending value's path."""
    try:
        _check(value, 1, ())
    except _Refused as refused:
        raise ValidationError.from_exception_data(
            "FreeFormMap",
            [
                InitErrorDetails(
                    type=PydanticCustomError(ERROR_TYPE, refused.message),
                    loc=refused.location,
                    input=value,
                )
            ],
        ) from None
    return value


FreeFormMap = Annotated[dict[str, Any], AfterValidator(storable_map)]
