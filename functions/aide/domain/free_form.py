"""Client-supplied free-form maps (project settings, agent settings, task inputs) that Firestore
will accept: it refuses empty and `__reserved__` field names and nesting deeper than 20 levels
with INVALID_ARGUMENT, which would otherwise surface as a 500 after validation passed."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator

MAX_DEPTH: Final = 16
_RESERVED_NAME = re.compile(r"^__.*__$")


def _check(value: Any, depth: int, path: str) -> None:
    """`depth` counts the maps and arrays enclosing `value`, itself included."""
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels at {path or 'the top'}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key:
                raise ValueError(f"empty key at {path or 'the top'}")
            if _RESERVED_NAME.match(key):
                raise ValueError(f"reserved key {key!r} (names like __x__ are not allowed)")
            _check(item, depth + 1, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, list):
                # Firestore stores no array directly inside an array.
                raise ValueError(f"array directly inside an array at {path}[{index}]")
            _check(item, depth + 1, f"{path}[{index}]")


def storable_map(value: dict[str, Any]) -> dict[str, Any]:
    _check(value, 1, "")
    return value


FreeFormMap = Annotated[dict[str, Any], AfterValidator(storable_map)]
