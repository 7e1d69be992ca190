"""Firestore value ordering and equality on raw ``google.firestore.v1.Value`` messages.

The backend's documented cross-type order is null < booleans < NaN < numbers < timestamps
< strings < bytes < references < geo points < arrays < vectors < maps; integers and doubles
compare numerically (1 == 1.0), and NaN sorts before every other number and equals itself.

``order_key`` turns a value into a plain Python tuple with exactly that order, so queries sort
and compare with native tuple comparison instead of calling a comparator on protobufs for every
pair (the client library's ``Order`` does the latter; it is kept as the reference the tests
check ``order_key`` against). The first element of every key is the value's type rank, which is
what Firestore's type bracketing of range filters looks at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from emulators.firestore.protos import Value

OrderKey = tuple[Any, ...]

RANK_NULL = 0
RANK_BOOLEAN = 2
RANK_NUMBER = 3
RANK_TIMESTAMP = 4
RANK_STRING = 6
RANK_BYTES = 7
RANK_REFERENCE = 9
RANK_GEO_POINT = 11
RANK_ARRAY = 13
RANK_VECTOR = 14
RANK_MAP = 15

# NaN sorts before every number but shares their type bracket, so it gets the rank of numbers
# and a sub-rank below theirs.
_NAN_KEY: OrderKey = (RANK_NUMBER, 0)
_NULL_KEY: OrderKey = (RANK_NULL,)


def order_key(value: Any) -> OrderKey:
    """A tuple that sorts, compares and hashes exactly as ``value`` does in Firestore."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return (RANK_STRING, value.string_value)
    if kind == "integer_value":
        return (RANK_NUMBER, 1, value.integer_value)
    if kind == "double_value":
        number = value.double_value
        if number != number:
            return _NAN_KEY
        return (RANK_NUMBER, 1, number)
    if kind == "boolean_value":
        return (RANK_BOOLEAN, value.boolean_value)
    if kind == "null_value" or kind is None:
        return _NULL_KEY
    if kind == "timestamp_value":
        ts = value.timestamp_value
        return (RANK_TIMESTAMP, ts.seconds, ts.nanos)
    if kind == "map_value":
        fields = value.map_value.fields
        if is_vector_fields(fields):
            elements = fields["value"].array_value.values
            return (RANK_VECTOR, len(elements), tuple(order_key(e) for e in elements))
        return (RANK_MAP, tuple((k, order_key(fields[k])) for k in sorted(fields)))
    if kind == "array_value":
        return (RANK_ARRAY, tuple(order_key(e) for e in value.array_value.values))
    if kind == "reference_value":
        return reference_key(value.reference_value)
    if kind == "bytes_value":
        return (RANK_BYTES, value.bytes_value)
    if kind == "geo_point_value":
        geo = value.geo_point_value
        return (RANK_GEO_POINT, geo.latitude, geo.longitude)
    raise ValueError(f"unsupported value type {kind}")


def reference_key(name: str) -> OrderKey:
    """Order key of a document name: references compare segment by segment."""
    if "__id" in name:
        return (RANK_REFERENCE, tuple(_id_segment(s) for s in name.split("/")))
    return (RANK_REFERENCE, tuple(name.split("/")))


_NUMERIC_ID = re.compile(r"__id(-?\d+)__")


def _id_segment(segment: str) -> str:
    """Numeric document ids (``__id<int64>__``) sort before string ids, by value.

    Clients rely on this: ``recursive()`` queries start at ``__id-9223372036854775808__``
    to mean "before every document". They are mapped to a string below any real id.
    """
    match = _NUMERIC_ID.fullmatch(segment)
    if match is None:
        return segment
    number = int(match.group(1))
    if not -(2**63) <= number < 2**63:
        return segment
    return "\x00" + format(number + 2**63, "020d")


def is_vector_fields(fields: Any) -> bool:
    """Whether a map's fields are the wire form of a vector: {"__type__": "__vector__", ...}."""
    return "__type__" in fields and fields["__type__"].string_value == "__vector__"


def vector_elements(value: Any) -> list[float] | None:
    """The components of a vector value as floats, or None when ``value`` is not a vector."""
    if value.WhichOneof("value_type") != "map_value":
        return None
    fields = value.map_value.fields
    if not is_vector_fields(fields) or "value" not in fields:
        return None
    out: list[float] = []
    for element in fields["value"].array_value.values:
        kind = element.WhichOneof("value_type")
        if kind == "double_value":
            out.append(element.double_value)
        elif kind == "integer_value":
            out.append(float(element.integer_value))
        else:
            return None
    return out


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 as ``left`` sorts before, with, or after ``right`` in Firestore order."""
    a, b = order_key(left), order_key(right)
    return (a > b) - (a < b)


def equals(left: Any, right: Any) -> bool:
    """Firestore equality: numerically equal numbers are equal whatever their type."""
    return order_key(left) == order_key(right)


sort_key: Callable[[Any], OrderKey] = order_key


def is_nan(value: Any) -> bool:
    return value.WhichOneof("value_type") == "double_value" and math.isnan(value.double_value)


def is_null(value: Any) -> bool:
    return value.WhichOneof("value_type") == "null_value"


def null_value() -> Any:
    v = Value()
    v.null_value = 0
    return v
