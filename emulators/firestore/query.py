"""RunQuery semantics: scope, filters, ordering, cursors, offset/limit, projection, find_nearest.

Works on raw ``google.firestore.v1`` protobufs. A ``StructuredQuery`` is first compiled into
plain Python callables and order keys (``compile_query``, cached by the query's bytes because
Listen re-evaluates the same query for every change), then run over the documents a
``DocumentSource`` yields. Sorting and cursor comparison use the tuple keys of
``values.order_key`` so that no protobuf comparator runs inside the sort.

Semantics follow production Firestore (and the Firestore JS SDK's local query engine, which is
written to agree with it):

* range filters (<, <=, >, >=) only match values of the operand's type class;
* ``!=``, ``not-in`` and the unary ``IS_NOT_NULL``/``IS_NOT_NAN`` exclude documents missing the
  field and documents where it is null, and count as inequalities;
* every query is ordered: explicit ``order_by`` first, then inequality fields not explicitly
  ordered (lexicographically), then ``__name__``, the implicit ones in the direction of the last
  explicit order; a document missing any order field is not returned;
* multiple inequality fields are allowed (current Firestore), so an ``order_by`` need not start
  with the inequality field.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.cloud.firestore_v1.field_path import parse_field_path

from emulators.firestore.errors import EmulatorError
from emulators.firestore.protos import Document, StructuredQuery, Value
from emulators.firestore.values import (
    RANK_NULL,
    OrderKey,
    order_key,
    reference_key,
    vector_elements,
)

Predicate = Callable[[Any], bool]
KeyGetter = Callable[[Any], "OrderKey | None"]

_FieldOp = StructuredQuery.FieldFilter.Operator
_UnaryOp = StructuredQuery.UnaryFilter.Operator
_CompositeOp = StructuredQuery.CompositeFilter.Operator
_Measure = StructuredQuery.FindNearest.DistanceMeasure

NAME_FIELD = "__name__"
MAX_DISJUNCTIONS = 30
MAX_IN_VALUES = 30
MAX_NOT_IN_VALUES = 10
MAX_INEQUALITY_FIELDS = 10
MAX_NEAREST_LIMIT = 1000
MAX_VECTOR_DIMENSION = 2048

RANGE_OPS = frozenset(
    {
        _FieldOp.LESS_THAN,
        _FieldOp.LESS_THAN_OR_EQUAL,
        _FieldOp.GREATER_THAN,
        _FieldOp.GREATER_THAN_OR_EQUAL,
    }
)
INEQUALITY_FIELD_OPS = RANGE_OPS | {_FieldOp.NOT_EQUAL, _FieldOp.NOT_IN}
INEQUALITY_UNARY_OPS = frozenset({_UnaryOp.IS_NOT_NAN, _UnaryOp.IS_NOT_NULL})


class DocumentSource(Protocol):
    """Where a query reads documents from (the store, or a transaction's view of it)."""

    def collection(self, parent: str, collection_id: str) -> Iterable[Any]:
        """Existing documents that are direct children of ``parent`` in ``collection_id``.

        ``parent`` is ``projects/p/databases/d/documents`` or a document name.
        """
        ...

    def collection_group(self, parent: str, collection_id: str) -> Iterable[Any]:
        """Existing documents in a collection named ``collection_id`` anywhere under ``parent``.

        An empty ``collection_id`` means every document under ``parent`` (kind-less queries).
        """
        ...


def invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


# --------------------------------------------------------------------------- field access


@functools.lru_cache(maxsize=4096)
def field_segments(path: str) -> tuple[str, ...]:
    """The segments of a field path as the API spells it (backtick-quoted where needed)."""
    if not path:
        raise invalid("Field path must not be empty.")
    try:
        return tuple(parse_field_path(path))
    except ValueError as exc:
        raise invalid(f"Invalid field path: {path}") from exc


def field_value(doc: Any, segments: Sequence[str]) -> Any | None:
    """The value at a field path of a document, or None when it is missing.

    Membership is tested before indexing because indexing a protobuf message map inserts
    a default entry, which would mutate the stored document.
    """
    fields = doc.fields
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if segment not in fields:
            return None
        value = fields[segment]
        if i == last:
            return value
        if value.WhichOneof("value_type") != "map_value":
            return None
        fields = value.map_value.fields
    return None


def _reference(name: str) -> Any:
    value = Value()
    value.reference_value = name
    return value


def value_getter(path: str) -> Callable[[Any], Any | None]:
    """A function reading the value at ``path`` (``__name__`` yields the document reference)."""
    if path == NAME_FIELD:
        return lambda doc: _reference(doc.name)
    segments = field_segments(path)
    if len(segments) == 1:
        only = segments[0]

        def top_level(doc: Any) -> Any | None:
            return doc.fields.get(only)

        return top_level
    return lambda doc: field_value(doc, segments)


def key_getter(path: str) -> KeyGetter:
    """A function reading the order key of the value at ``path`` (None when missing)."""
    if path == NAME_FIELD:
        return lambda doc: reference_key(doc.name)
    get = value_getter(path)

    def key(doc: Any) -> OrderKey | None:
        value = get(doc)
        return None if value is None else order_key(value)

    return key


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class FieldCondition:
    """One leaf filter, kept for validation, implicit ordering and index planning."""

    path: str
    op: str  # "==", "<", "in", "array-contains", "is-null", ... (Firestore's spelling)
    values: int = 1  # number of disjunction values (in / array-contains-any)

    @property
    def is_inequality(self) -> bool:
        return self.op in ("<", "<=", ">", ">=", "!=", "not-in", "is-not-null", "is-not-nan")


_FIELD_OP_NAMES = {
    _FieldOp.LESS_THAN: "<",
    _FieldOp.LESS_THAN_OR_EQUAL: "<=",
    _FieldOp.GREATER_THAN: ">",
    _FieldOp.GREATER_THAN_OR_EQUAL: ">=",
    _FieldOp.EQUAL: "==",
    _FieldOp.NOT_EQUAL: "!=",
    _FieldOp.ARRAY_CONTAINS: "array-contains",
    _FieldOp.IN: "in",
    _FieldOp.ARRAY_CONTAINS_ANY: "array-contains-any",
    _FieldOp.NOT_IN: "not-in",
}
_UNARY_OP_NAMES = {
    _UnaryOp.IS_NAN: "is-nan",
    _UnaryOp.IS_NULL: "is-null",
    _UnaryOp.IS_NOT_NAN: "is-not-nan",
    _UnaryOp.IS_NOT_NULL: "is-not-null",
}


@dataclass(frozen=True)
class FilterTree:
    """A filter as a tree of AND/OR nodes over ``FieldCondition`` leaves (for DNF)."""

    op: str  # "and", "or" or "leaf"
    children: tuple[FilterTree, ...] = ()
    leaf: FieldCondition | None = None

    def leaves(self) -> list[FieldCondition]:
        if self.leaf is not None:
            return [self.leaf]
        return [leaf for child in self.children for leaf in child.leaves()]

    def dnf(self) -> list[list[FieldCondition]]:
        """The filter as a disjunction of conjunctions (``in`` stays one leaf here)."""
        if self.leaf is not None:
            return [[self.leaf]]
        if self.op == "or":
            return [conj for child in self.children for conj in child.dnf()]
        result: list[list[FieldCondition]] = [[]]
        for child in self.children:
            result = [left + right for left in result for right in child.dnf()]
        return result

    def disjunction_count(self) -> int:
        """Size of the DNF when ``in``/``array-contains-any`` also expand into disjunctions."""
        if self.leaf is not None:
            return self.leaf.values if self.leaf.op in ("in", "array-contains-any") else 1
        counts = [child.disjunction_count() for child in self.children]
        if self.op == "or":
            return sum(counts)
        return math.prod(counts)


def _array_operand(value: Any, op_name: str, limit: int) -> list[Any]:
    if value.WhichOneof("value_type") != "array_value":
        raise invalid(f"A non-empty array is required for '{op_name}' filters.")
    elements = list(value.array_value.values)
    if not elements:
        raise invalid(f"A non-empty array is required for '{op_name}' filters.")
    if len(elements) > limit:
        raise invalid(
            f"'{op_name.upper()}' supports up to {limit} comparison values, "
            f"but {len(elements)} were given."
        )
    return elements


def _compile_field_filter(ff: Any) -> tuple[Predicate, FilterTree]:
    path = ff.field.field_path
    op = ff.op
    if op not in _FIELD_OP_NAMES:
        raise invalid("Unspecified field filter operator.")
    op_name = _FIELD_OP_NAMES[op]
    operand = ff.value
    if operand.WhichOneof("value_type") is None:
        raise invalid(f"A value is required for the '{op_name}' filter on '{path}'.")
    get_value = value_getter(path)
    get_key = key_getter(path)
    disjunction_values = 1

    if path == NAME_FIELD:
        operands = (
            list(operand.array_value.values)
            if op in (_FieldOp.IN, _FieldOp.NOT_IN, _FieldOp.ARRAY_CONTAINS_ANY)
            and operand.WhichOneof("value_type") == "array_value"
            else [operand]
        )
        if op in (_FieldOp.ARRAY_CONTAINS, _FieldOp.ARRAY_CONTAINS_ANY):
            raise invalid(f"'{op_name}' filters are not supported on __name__.")
        for element in operands:
            if element.WhichOneof("value_type") != "reference_value":
                raise invalid("__key__ filter value must be a Key")

    pred: Predicate
    if op in RANGE_OPS:
        kind = operand.WhichOneof("value_type")
        if kind == "null_value" or (kind == "double_value" and math.isnan(operand.double_value)):
            raise invalid(
                "Null and NaN values only support '==' and '!=' filters "
                f"(got '{op_name}' on '{path}')."
            )
        bound = order_key(operand)
        rank = bound[0]
        if op == _FieldOp.LESS_THAN:

            def pred(doc: Any) -> bool:
                k = get_key(doc)
                return k is not None and k[0] == rank and k < bound
        elif op == _FieldOp.LESS_THAN_OR_EQUAL:

            def pred(doc: Any) -> bool:
                k = get_key(doc)
                return k is not None and k[0] == rank and k <= bound
        elif op == _FieldOp.GREATER_THAN:

            def pred(doc: Any) -> bool:
                k = get_key(doc)
                return k is not None and k[0] == rank and k > bound
        else:

            def pred(doc: Any) -> bool:
                k = get_key(doc)
                return k is not None and k[0] == rank and k >= bound
    elif op == _FieldOp.EQUAL and operand.WhichOneof("value_type") == "string_value":
        # The most common filter; comparing the raw string skips building order keys.
        text = operand.string_value

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            return (
                v is not None
                and v.WhichOneof("value_type") == "string_value"
                and v.string_value == text
            )
    elif op == _FieldOp.EQUAL:
        target = order_key(operand)

        def pred(doc: Any) -> bool:
            return get_key(doc) == target
    elif op == _FieldOp.NOT_EQUAL:
        target = order_key(operand)

        def pred(doc: Any) -> bool:
            k = get_key(doc)
            return k is not None and k[0] != RANK_NULL and k != target
    elif op == _FieldOp.IN:
        elements = _array_operand(operand, "in", MAX_IN_VALUES)
        disjunction_values = len(elements)
        targets = frozenset(order_key(e) for e in elements)

        def pred(doc: Any) -> bool:
            k = get_key(doc)
            return k is not None and k in targets
    elif op == _FieldOp.NOT_IN:
        elements = _array_operand(operand, "not-in", MAX_NOT_IN_VALUES)
        excluded = frozenset(order_key(e) for e in elements)
        if any(k[0] == RANK_NULL for k in excluded):
            # Every stored value is "not null" or missing, and missing never matches not-in.
            def pred(doc: Any) -> bool:
                return False
        else:

            def pred(doc: Any) -> bool:
                k = get_key(doc)
                return k is not None and k[0] != RANK_NULL and k not in excluded
    elif op == _FieldOp.ARRAY_CONTAINS:
        target = order_key(operand)

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            if v is None or v.WhichOneof("value_type") != "array_value":
                return False
            return any(order_key(e) == target for e in v.array_value.values)
    else:  # ARRAY_CONTAINS_ANY
        elements = _array_operand(operand, "array-contains-any", MAX_IN_VALUES)
        disjunction_values = len(elements)
        targets = frozenset(order_key(e) for e in elements)

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            if v is None or v.WhichOneof("value_type") != "array_value":
                return False
            return any(order_key(e) in targets for e in v.array_value.values)

    return pred, FilterTree("leaf", leaf=FieldCondition(path, op_name, disjunction_values))


def _compile_unary_filter(uf: Any) -> tuple[Predicate, FilterTree]:
    path = uf.field.field_path
    op = uf.op
    if op not in _UNARY_OP_NAMES:
        raise invalid("Unspecified unary filter operator.")
    get_value = value_getter(path)
    pred: Predicate

    if op == _UnaryOp.IS_NULL:

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            return v is not None and v.WhichOneof("value_type") == "null_value"
    elif op == _UnaryOp.IS_NOT_NULL:

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            return v is not None and v.WhichOneof("value_type") != "null_value"
    elif op == _UnaryOp.IS_NAN:

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            return (
                v is not None
                and v.WhichOneof("value_type") == "double_value"
                and math.isnan(v.double_value)
            )
    else:  # IS_NOT_NAN behaves as "!= NaN": missing fields and nulls do not match.

        def pred(doc: Any) -> bool:
            v = get_value(doc)
            if v is None:
                return False
            kind = v.WhichOneof("value_type")
            if kind == "null_value":
                return False
            return not (kind == "double_value" and math.isnan(v.double_value))

    return pred, FilterTree("leaf", leaf=FieldCondition(path, _UNARY_OP_NAMES[op]))


def _compile_filter(f: Any) -> tuple[Predicate, FilterTree]:
    kind = f.WhichOneof("filter_type")
    if kind == "field_filter":
        return _compile_field_filter(f.field_filter)
    if kind == "unary_filter":
        return _compile_unary_filter(f.unary_filter)
    if kind == "composite_filter":
        cf = f.composite_filter
        if cf.op not in (_CompositeOp.AND, _CompositeOp.OR):
            raise invalid("Unspecified composite filter operator.")
        if not cf.filters:
            raise invalid("A composite filter must contain at least one filter.")
        compiled = [_compile_filter(child) for child in cf.filters]
        preds = tuple(p for p, _ in compiled)
        trees = tuple(t for _, t in compiled)
        if len(preds) == 1:
            return preds[0], trees[0]
        if cf.op == _CompositeOp.AND:
            return (lambda doc: all(p(doc) for p in preds)), FilterTree("and", trees)
        return (lambda doc: any(p(doc) for p in preds)), FilterTree("or", trees)
    raise invalid("A filter must be a field, unary or composite filter.")


def _validate_filters(tree: FilterTree) -> None:
    leaves = tree.leaves()
    ops = [leaf.op for leaf in leaves]
    if ops.count("not-in") > 1:
        raise invalid("A query can contain at most one 'NOT_IN' filter.")
    if ops.count("!=") > 1:
        raise invalid("A query can contain at most one 'NOT_EQUAL' filter.")
    if "not-in" in ops and "!=" in ops:
        raise invalid("A query cannot combine 'NOT_IN' and 'NOT_EQUAL' filters.")
    if "not-in" in ops and ("in" in ops or "array-contains-any" in ops):
        raise invalid(
            "'NOT_IN' cannot be used in the same query with 'IN' or 'ARRAY_CONTAINS_ANY'."
        )
    if "not-in" in ops and any(t.op == "or" for t in _subtrees(tree)):
        raise invalid("'NOT_IN' cannot be used in the same query with 'OR' filters.")
    for conjunction in tree.dnf():
        array_ops = [leaf.op for leaf in conjunction if leaf.op.startswith("array-contains")]
        if len(array_ops) > 1:
            raise invalid(
                "A query can contain at most one 'ARRAY_CONTAINS' or 'ARRAY_CONTAINS_ANY' "
                "filter per disjunction."
            )
    inequality_fields = {leaf.path for leaf in leaves if leaf.is_inequality}
    if len(inequality_fields) > MAX_INEQUALITY_FIELDS:
        raise invalid(
            f"A query can have inequality filters on at most {MAX_INEQUALITY_FIELDS} fields."
        )
    disjunctions = tree.disjunction_count()
    if disjunctions > MAX_DISJUNCTIONS:
        raise invalid(
            f"Query has {disjunctions} disjunctions in disjunctive normal form; "
            f"the maximum is {MAX_DISJUNCTIONS}."
        )


def _subtrees(tree: FilterTree) -> Iterable[FilterTree]:
    yield tree
    for child in tree.children:
        yield from _subtrees(child)


# --------------------------------------------------------------------------- compiled query


@dataclass(frozen=True)
class Ordering:
    path: str
    descending: bool
    key: KeyGetter


@dataclass(frozen=True)
class Bound:
    """A cursor as order keys; ``before`` means the position is just before these values."""

    keys: tuple[OrderKey, ...]
    before: bool


@dataclass(frozen=True)
class Nearest:
    path: str
    get_value: Callable[[Any], Any | None]
    vector: tuple[float, ...]
    measure: int
    limit: int
    threshold: float | None
    result_field: tuple[str, ...] | None


@dataclass(frozen=True)
class CompiledQuery:
    parent: str
    collection_id: str
    all_descendants: bool
    predicate: Predicate | None
    filter_tree: FilterTree | None
    explicit_orders: tuple[tuple[str, bool], ...]
    orders: tuple[Ordering, ...]
    start: Bound | None
    end: Bound | None
    offset: int
    limit: int | None
    projection: tuple[tuple[str, ...], ...] | None
    nearest: Nearest | None

    def in_scope(self, name: str) -> bool:
        if self.all_descendants:
            if not name.startswith(self.parent + "/"):
                return False
            if not self.collection_id:
                return True
            return name.rsplit("/", 2)[-2] == self.collection_id
        prefix, collection, _ = name.rsplit("/", 2)
        return collection == self.collection_id and prefix == self.parent

    def matches(self, doc: Any) -> bool:
        return self.in_scope(doc.name) and (self.predicate is None or self.predicate(doc))

    def candidates(self, source: DocumentSource) -> Iterable[Any]:
        if self.all_descendants:
            return source.collection_group(self.parent, self.collection_id)
        return source.collection(self.parent, self.collection_id)


def _path_sort_key(path: str) -> tuple[str, ...]:
    return field_segments(path)


def _normalized_orders(
    explicit: Sequence[tuple[str, bool]], tree: FilterTree | None
) -> list[tuple[str, bool]]:
    orders = list(explicit)
    seen = {path for path, _ in orders}
    last_descending = orders[-1][1] if orders else False
    if tree is not None:
        inequality = {leaf.path for leaf in tree.leaves() if leaf.is_inequality}
        for path in sorted(inequality - seen - {NAME_FIELD}, key=_path_sort_key):
            orders.append((path, last_descending))
            seen.add(path)
    if NAME_FIELD not in seen:
        orders.append((NAME_FIELD, last_descending))
    return orders


def _compile_cursor(cursor: Any, orders: Sequence[tuple[str, bool]], which: str) -> Bound:
    values = list(cursor.values)
    if len(values) > len(orders):
        raise invalid(
            f"Too many cursor values specified in {which}. The specified order by clause "
            f"has {len(orders)} fields but the cursor has {len(values)} values."
        )
    for value, (path, _) in zip(values, orders, strict=False):
        if path == NAME_FIELD and value.WhichOneof("value_type") != "reference_value":
            raise invalid(f"The cursor value for __name__ in {which} must be a document reference.")
    return Bound(tuple(order_key(v) for v in values), cursor.before)


def _compile_nearest(fn: Any) -> Nearest:
    path = fn.vector_field.field_path
    if not path:
        raise invalid("find_nearest requires a vector field.")
    vector = vector_elements(fn.query_vector)
    if vector is None:
        raise invalid("find_nearest query_vector must be a vector value.")
    if not vector:
        raise invalid("find_nearest query_vector must not be empty.")
    if len(vector) > MAX_VECTOR_DIMENSION:
        raise invalid(
            f"find_nearest supports vectors of at most {MAX_VECTOR_DIMENSION} dimensions."
        )
    if fn.distance_measure not in (_Measure.EUCLIDEAN, _Measure.COSINE, _Measure.DOT_PRODUCT):
        raise invalid("find_nearest requires a distance measure.")
    if not fn.HasField("limit"):
        raise invalid("find_nearest requires a limit.")
    limit = fn.limit.value
    if limit <= 0 or limit > MAX_NEAREST_LIMIT:
        raise invalid(f"find_nearest limit must be between 1 and {MAX_NEAREST_LIMIT}, got {limit}.")
    result_field = field_segments(fn.distance_result_field) if fn.distance_result_field else None
    threshold = fn.distance_threshold.value if fn.HasField("distance_threshold") else None
    return Nearest(
        path, value_getter(path), tuple(vector), fn.distance_measure, limit, threshold, result_field
    )


def compile_query(parent: str, query: Any) -> CompiledQuery:
    """Validate ``query`` as Firestore would and turn it into callables and order keys."""
    return _compile_cached(parent, query.SerializeToString(deterministic=True))


@functools.lru_cache(maxsize=512)
def _compile_cached(parent: str, serialized: bytes) -> CompiledQuery:
    query = StructuredQuery.FromString(serialized)
    selectors = list(query.from_)
    if len(selectors) != 1:
        raise invalid("A query must select exactly one collection (from).")
    selector = selectors[0]
    if not selector.collection_id and not selector.all_descendants:
        raise invalid("A collection id is required unless all_descendants is set.")

    predicate: Predicate | None = None
    tree: FilterTree | None = None
    if query.HasField("where"):
        predicate, tree = _compile_filter(query.where)
        _validate_filters(tree)

    explicit: list[tuple[str, bool]] = []
    for order in query.order_by:
        path = order.field.field_path
        if path != NAME_FIELD:
            field_segments(path)
        if any(path == seen for seen, _ in explicit):
            raise invalid(f"order by field '{path}' is specified more than once.")
        explicit.append((path, order.direction == StructuredQuery.Direction.DESCENDING))
    normalized = _normalized_orders(explicit, tree)
    orders = tuple(Ordering(path, desc, key_getter(path)) for path, desc in normalized)

    start = (
        _compile_cursor(query.start_at, normalized, "start_at")
        if query.HasField("start_at")
        else None
    )
    end = _compile_cursor(query.end_at, normalized, "end_at") if query.HasField("end_at") else None

    if query.offset < 0:
        raise invalid("offset must be non-negative.")
    limit: int | None = None
    if query.HasField("limit"):
        limit = query.limit.value
        if limit < 0:
            raise invalid("limit is negative.")

    projection: tuple[tuple[str, ...], ...] | None = None
    if query.HasField("select"):
        paths = []
        for ref in query.select.fields:
            paths.append(
                (NAME_FIELD,) if ref.field_path == NAME_FIELD else field_segments(ref.field_path)
            )
        projection = tuple(paths)

    # find_nearest is the last stage (after ordering, cursors, offset and limit) and its
    # distance order supersedes order_by, so it combines with all of them.
    nearest = _compile_nearest(query.find_nearest) if query.HasField("find_nearest") else None

    return CompiledQuery(
        parent=parent,
        collection_id=selector.collection_id,
        all_descendants=selector.all_descendants,
        predicate=predicate,
        filter_tree=tree,
        explicit_orders=tuple(explicit),
        orders=orders,
        start=start,
        end=end,
        offset=query.offset,
        limit=limit,
        projection=projection,
        nearest=nearest,
    )


# --------------------------------------------------------------------------- execution


def matches(doc: Any, parent: str, query: Any) -> bool:
    """Whether ``doc`` is in the query's scope and passes its filters (ignores order/limit)."""
    return compile_query(parent, query).matches(doc)


def run_query(source: DocumentSource, parent: str, query: Any) -> list[Any]:
    """The documents ``query`` returns, in order.

    Returned documents are the source's own messages unless a projection or a distance result
    field requires a copy; callers must not mutate them.
    """
    compiled = compile_query(parent, query)
    keep = None if compiled.limit is None else compiled.offset + compiled.limit
    rows = _ordered_rows(compiled, source, keep)[_result_slice(compiled)]
    if compiled.nearest is not None:
        return _nearest(compiled, [doc for _, doc in rows])
    if compiled.projection is None:
        return [doc for _, doc in rows]
    return [project(doc, compiled.projection) for _, doc in rows]


def _result_slice(compiled: CompiledQuery) -> slice:
    stop = None if compiled.limit is None else compiled.offset + compiled.limit
    return slice(compiled.offset, stop)


def ordered_matches(source: DocumentSource, parent: str, query: Any) -> list[Any]:
    """Matching documents after ordering and cursors, before offset/limit/projection."""
    return [doc for _, doc in _ordered_rows(compile_query(parent, query), source)]


Row = tuple[tuple[OrderKey, ...], Any]


def _ordered_rows(
    compiled: CompiledQuery, source: DocumentSource, keep: int | None = None
) -> list[Row]:
    """Matching rows in query order; only the first ``keep`` are guaranteed when given."""
    predicate = compiled.predicate
    key_getters = [o.key for o in compiled.orders]
    rows: list[Row] = []
    append = rows.append
    if len(key_getters) == 1:
        only = key_getters[0]
        for doc in compiled.candidates(source):
            if predicate is not None and not predicate(doc):
                continue
            k = only(doc)
            if k is not None:
                append(((k,), doc))
    else:
        for doc in compiled.candidates(source):
            if predicate is not None and not predicate(doc):
                continue
            keys = []
            for get in key_getters:
                k = get(doc)
                if k is None:
                    break
                keys.append(k)
            else:
                append((tuple(keys), doc))

    descending = [o.descending for o in compiled.orders]
    if compiled.start is not None or compiled.end is not None:
        rows = [row for row in rows if _within_bounds(row[0], compiled, descending)]

    if all(descending) or not any(descending):
        if keep is not None and keep * 4 < len(rows):
            # A small limit needs only a partial sort; keys are unique (__name__ is always
            # ordered) so this agrees with the full sort.
            select = heapq.nlargest if descending[0] else heapq.nsmallest
            return select(keep, rows, key=_row_keys)
        rows.sort(key=_row_keys, reverse=descending[0])
    else:
        # Stable sorts from the least to the most significant order field handle mixed
        # directions without a comparator.
        for i in range(len(descending) - 1, -1, -1):
            rows.sort(key=_component(i), reverse=descending[i])
    return rows


def _row_keys(row: Row) -> tuple[OrderKey, ...]:
    return row[0]


def _component(i: int) -> Callable[[Row], OrderKey]:
    def key(row: Row) -> OrderKey:
        return row[0][i]

    return key


def _position(keys: Sequence[OrderKey], bound: Bound, descending: Sequence[bool]) -> int:
    """-1, 0 or 1 as a row sorts before, at, or after the cursor values (on their prefix)."""
    for i, cursor_key in enumerate(bound.keys):
        key = keys[i]
        if key != cursor_key:
            result = -1 if key < cursor_key else 1
            return -result if descending[i] else result
    return 0


def _within_bounds(
    keys: Sequence[OrderKey], compiled: CompiledQuery, descending: Sequence[bool]
) -> bool:
    start, end = compiled.start, compiled.end
    if start is not None:
        position = _position(keys, start, descending)
        if position < 0 or (position == 0 and not start.before):
            return False
    if end is not None:
        position = _position(keys, end, descending)
        if position > 0 or (position == 0 and end.before):
            return False
    return True


# --------------------------------------------------------------------------- projection


def _copy_header(doc: Any) -> Any:
    out = Document()
    out.name = doc.name
    if doc.HasField("create_time"):
        out.create_time.CopyFrom(doc.create_time)
    if doc.HasField("update_time"):
        out.update_time.CopyFrom(doc.update_time)
    return out


def project(doc: Any, paths: Sequence[Sequence[str]]) -> Any:
    """A copy of ``doc`` holding only the fields at ``paths`` (``__name__`` keeps none)."""
    out = _copy_header(doc)
    for segments in paths:
        if tuple(segments) == (NAME_FIELD,):
            continue
        value = field_value(doc, segments)
        if value is None:
            continue
        _set_field(out, segments).CopyFrom(value)
    return out


def _set_field(doc: Any, segments: Sequence[str]) -> Any:
    """The (created) value slot at ``segments`` of a document being built."""
    fields = doc.fields
    for segment in segments[:-1]:
        fields = fields[segment].map_value.fields
    return fields[segments[-1]]


# --------------------------------------------------------------------------- find_nearest


def distance(measure: int, left: Sequence[float], right: Sequence[float]) -> float | None:
    """The distance Firestore reports for a measure (None where it is undefined)."""
    if measure == _Measure.EUCLIDEAN:
        return math.sqrt(sum((a - b) * (a - b) for a, b in zip(left, right, strict=True)))
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    if measure == _Measure.DOT_PRODUCT:
        return dot
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    if norms == 0:
        return None
    return 1.0 - dot / norms


def _nearest(compiled: CompiledQuery, candidates: Iterable[Any]) -> list[Any]:
    """The ``limit`` candidates closest to the query vector, nearest first."""
    nearest = compiled.nearest
    assert nearest is not None
    dimension = len(nearest.vector)
    dot_product = nearest.measure == _Measure.DOT_PRODUCT
    threshold = nearest.threshold
    scored: list[tuple[float, str, Any]] = []
    for doc in candidates:
        value = nearest.get_value(doc)
        if value is None:
            continue
        vector = vector_elements(value)
        if vector is None or len(vector) != dimension:
            continue
        d = distance(nearest.measure, vector, nearest.vector)
        if d is None or math.isnan(d):
            continue
        if threshold is not None and (d < threshold if dot_product else d > threshold):
            continue
        scored.append((-d if dot_product else d, doc.name, doc))
    scored.sort(key=lambda item: (item[0], item[1]))
    results = []
    for score, _, doc in scored[: nearest.limit]:
        out = project(doc, compiled.projection) if compiled.projection is not None else doc
        if nearest.result_field is not None:
            if out is doc:
                out = Document()
                out.CopyFrom(doc)
            _set_field(out, nearest.result_field).double_value = -score if dot_product else score
        results.append(out)
    return results
