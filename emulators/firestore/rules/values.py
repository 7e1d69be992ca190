"""Runtime values of rules evaluation and their conversion from Firestore documents.

Plain Python types carry most values: None (null), bool, int, float, str, bytes, list, dict.
The types below are the ones Python has no exact equivalent for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulators.firestore.rules.errors import EvaluationError

_NANOS = 1_000_000_000


@dataclass(frozen=True, order=True)
class Timestamp:
    nanos: int  # since the epoch

    @classmethod
    def from_proto(cls, ts: Any) -> Timestamp:
        return cls(ts.seconds * _NANOS + ts.nanos)


@dataclass(frozen=True, order=True)
class Duration:
    nanos: int


@dataclass(frozen=True)
class LatLng:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class RulesPath:
    """A path such as ``/databases/(default)/documents/users/u1`` (segments without slashes)."""

    segments: tuple[str, ...]

    def __str__(self) -> str:
        return "/" + "/".join(self.segments)


class RulesSet:
    """A set of values (``list.toSet()``, ``map.keys()`` diffs); rules values are not hashable."""

    def __init__(self, items: Any) -> None:
        unique: list[Any] = []
        for item in items:
            if not any(equal(item, seen) for seen in unique):
                unique.append(item)
        self.items = unique

    def __contains__(self, value: Any) -> bool:
        return any(equal(value, item) for item in self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class MapDiff:
    left: dict[str, Any]
    right: dict[str, Any]

    def added(self) -> RulesSet:
        return RulesSet(k for k in self.left if k not in self.right)

    def removed(self) -> RulesSet:
        return RulesSet(k for k in self.right if k not in self.left)

    def changed(self) -> RulesSet:
        return RulesSet(
            k for k in self.left if k in self.right and not equal(self.left[k], self.right[k])
        )

    def unchanged(self) -> RulesSet:
        return RulesSet(
            k for k in self.left if k in self.right and equal(self.left[k], self.right[k])
        )

    def affected(self) -> RulesSet:
        return RulesSet([*self.added().items, *self.removed().items, *self.changed().items])


TYPE_NAMES = {
    "bool": "bool",
    "boolean": "bool",
    "bytes": "bytes",
    "duration": "duration",
    "float": "float",
    "int": "int",
    "latlng": "latlng",
    "list": "list",
    "map": "map",
    "null": "null",
    "number": "number",
    "path": "path",
    "set": "set",
    "string": "string",
    "timestamp": "timestamp",
    "mapdiff": "mapdiff",
}


def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, Duration):
        return "duration"
    if isinstance(value, RulesPath):
        return "path"
    if isinstance(value, LatLng):
        return "latlng"
    if isinstance(value, RulesSet):
        return "set"
    if isinstance(value, MapDiff):
        return "mapdiff"
    raise EvaluationError(f"unknown value {value!r}")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(left: Any, right: Any) -> bool:
    """Rules equality: 1 == 1.0, but true != 1 and values of different types differ."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    left_type, right_type = type_of(left), type_of(right)
    if left_type != right_type:
        return False
    if left_type == "list":
        return len(left) == len(right) and all(
            equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if left_type == "map":
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if left_type == "set":
        return len(left) == len(right) and all(item in right for item in left.items)
    return bool(left == right)


def from_value(value: Any) -> Any:
    """A ``google.firestore.v1.Value`` as a rules value (references become paths)."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "double_value":
        return value.double_value
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "map_value":
        return {k: from_value(v) for k, v in value.map_value.fields.items()}
    if kind == "array_value":
        return [from_value(v) for v in value.array_value.values]
    if kind == "timestamp_value":
        return Timestamp.from_proto(value.timestamp_value)
    if kind == "reference_value":
        return document_path(value.reference_value)
    if kind == "bytes_value":
        return value.bytes_value
    if kind == "geo_point_value":
        return LatLng(value.geo_point_value.latitude, value.geo_point_value.longitude)
    return None


def document_path(name: str) -> RulesPath:
    """``projects/p/databases/d/documents/a/b`` → ``/databases/d/documents/a/b``."""
    parts = name.split("/")
    return RulesPath(tuple(parts[2:]))


def resource_of(doc: Any) -> dict[str, Any] | None:
    """The ``resource`` value of a stored document (None when it does not exist)."""
    if doc is None:
        return None
    path = document_path(doc.name)
    return {
        "data": {k: from_value(v) for k, v in doc.fields.items()},
        "id": path.segments[-1],
        "__name__": path,
    }
