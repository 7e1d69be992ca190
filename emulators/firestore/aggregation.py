"""RunAggregationQuery semantics: count (with up_to), sum and avg over a structured query.

Aggregations run over what the nested query returns (its filters, ordering, cursors, offset and
limit apply; a projection does not matter). Firestore's numeric rules:

* ``sum`` ignores non-numeric values; it stays an integer while every operand is an integer and
  the total fits in 64 bits, and becomes a double otherwise; NaN anywhere (or +inf with -inf)
  gives NaN; no numeric value gives integer 0;
* ``avg`` is always a double, NaN when a NaN is involved, and null when no value is numeric;
* ``count`` stops at ``up_to``, which must be positive.
"""

from __future__ import annotations

import math
from typing import Any

from emulators.firestore.protos import Value
from emulators.firestore.query import (
    DocumentSource,
    compile_query,
    field_segments,
    field_value,
    invalid,
    ordered_matches,
)
from emulators.firestore.values import null_value

MAX_AGGREGATIONS = 5
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class _NumericTotal:
    """Running total that keeps integers exact until a double or an overflow is involved."""

    def __init__(self) -> None:
        self.integers = 0
        self.doubles = 0.0
        self.count = 0
        self.saw_double = False

    def add(self, value: Any) -> None:
        kind = value.WhichOneof("value_type")
        if kind == "integer_value":
            self.integers += value.integer_value
        elif kind == "double_value":
            self.doubles += value.double_value
            self.saw_double = True
        else:
            return
        self.count += 1

    def total(self) -> float | int:
        if not self.saw_double and _INT64_MIN <= self.integers <= _INT64_MAX:
            return self.integers
        try:
            return float(self.integers) + self.doubles
        except OverflowError:
            return math.copysign(math.inf, self.integers)


def _int_value(number: int) -> Any:
    value = Value()
    value.integer_value = number
    return value


def _double_value(number: float) -> Any:
    value = Value()
    value.double_value = number
    return value


def run_aggregation(source: DocumentSource, parent: str, query: Any) -> tuple[dict[str, Any], int]:
    """Aggregate fields by alias, and the number of index entries scanned (for billing)."""
    if not query.HasField("structured_query"):
        raise invalid("An aggregation query requires a structured query.")
    aggregations = list(query.aggregations)
    if not aggregations:
        raise invalid("An aggregation query requires at least one aggregation.")
    if len(aggregations) > MAX_AGGREGATIONS:
        raise invalid(f"An aggregation query supports at most {MAX_AGGREGATIONS} aggregations.")

    aliases: list[str] = []
    for index, aggregation in enumerate(aggregations, start=1):
        alias = aggregation.alias or f"field_{index}"
        if alias in aliases:
            raise invalid(f"Duplicate alias '{alias}' in aggregation query.")
        aliases.append(alias)
        kind = aggregation.WhichOneof("operator")
        if kind is None:
            raise invalid("An aggregation requires an operator (count, sum or avg).")
        if (
            kind == "count"
            and aggregation.count.HasField("up_to")
            and aggregation.count.up_to.value <= 0
        ):
            raise invalid("count up_to must be greater than zero.")
        if kind in ("sum", "avg"):
            field_segments(getattr(aggregation, kind).field.field_path)

    nested = query.structured_query
    compiled = compile_query(parent, nested)
    if compiled.nearest is not None:
        raise invalid("Aggregations over find_nearest queries are not supported.")
    documents = ordered_matches(source, parent, nested)
    stop = None if compiled.limit is None else compiled.offset + compiled.limit
    documents = documents[compiled.offset : stop]

    results: dict[str, Any] = {}
    scanned = 0
    for alias, aggregation in zip(aliases, aggregations, strict=True):
        kind = aggregation.WhichOneof("operator")
        if kind == "count":
            up_to = aggregation.count.up_to.value if aggregation.count.HasField("up_to") else None
            count = len(documents) if up_to is None else min(len(documents), up_to)
            results[alias] = _int_value(count)
            scanned = max(scanned, count)
            continue
        segments = field_segments(getattr(aggregation, kind).field.field_path)
        total = _NumericTotal()
        for doc in documents:
            value = field_value(doc, segments)
            if value is not None:
                total.add(value)
        scanned = max(scanned, len(documents))
        if kind == "sum":
            number = total.total()
            results[alias] = (
                _int_value(number) if isinstance(number, int) else _double_value(number)
            )
        elif total.count == 0:
            results[alias] = null_value()
        else:
            results[alias] = _double_value(float(total.total()) / total.count)
    return results, scanned
