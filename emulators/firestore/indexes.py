"""Index enforcement: reject queries production Firestore would reject for a missing index.

The configuration is the project's ``firestore.indexes.json`` (``IndexConfig.from_json``).
``check_query`` raises FAILED_PRECONDITION "The query requires an index. ..." with the exact
JSON to add to that file. The rules modelled (those of production Firestore):

* Single-field indexes exist automatically, for every field, in COLLECTION scope, ascending,
  descending and array-contains, unless a ``fieldOverrides`` entry for that collection group
  and field lists its own ``indexes`` (an empty list is an exemption: no index at all; an
  override without ``indexes``, such as a TTL-only one, keeps the automatic ones). In
  COLLECTION_GROUP scope single-field indexes exist only where a field override enables them.
  An index serves only queries of its own scope (a COLLECTION_GROUP index is not assumed to
  serve a collection query: erring strict makes a missing index fail CI, not production).
* ``__name__`` is always indexed (both directions, both scopes).
* A query is checked per disjunction of its filter in disjunctive normal form (OR queries run
  as several index scans). Per disjunction, equality filters (``==``, ``in``, ``is null``,
  ``is nan``; ``array-contains(-any)`` on an array-contains index) form the *equality set*, and
  the query's normalized order (explicit ``order_by``, then inequality fields, then
  ``__name__``) minus ``__name__`` and minus fields pinned by ``==`` forms the *order suffix*.
* Nothing but equalities and no order suffix: served by merging the single-field indexes of
  the equality fields, each of which must exist.
* No equalities and a one-field order suffix: the single-field index of that field in that
  direction must exist.
* Anything else needs composite indexes for the collection group whose fields are a subset of
  the equality set (in any order) followed by exactly the order suffix with the same
  directions (an optional trailing ``__name__`` is ignored). Several such indexes are merged
  when together they cover the equality set, as Firestore's index merging does.
* ``find_nearest`` needs a composite index ending in a ``vectorConfig`` on the vector field
  with the query vector's dimension, preceded by exactly the pre-filter fields (any order).
* ``sum``/``avg`` aggregations order by the aggregated field (ascending) for this purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from emulators.firestore.errors import EmulatorError
from emulators.firestore.query import NAME_FIELD, CompiledQuery, FieldCondition, compile_query

ASCENDING = "ASCENDING"
DESCENDING = "DESCENDING"
CONTAINS = "CONTAINS"
VECTOR = "VECTOR"
COLLECTION = "COLLECTION"
COLLECTION_GROUP = "COLLECTION_GROUP"

_EQUALITY_OPS = frozenset({"==", "in", "is-null", "is-nan"})
_ARRAY_OPS = frozenset({"array-contains", "array-contains-any"})


@dataclass(frozen=True)
class IndexField:
    path: str
    mode: str  # ASCENDING, DESCENDING, CONTAINS or VECTOR
    dimension: int | None = None

    def to_json(self) -> dict[str, Any]:
        if self.mode == CONTAINS:
            return {"fieldPath": self.path, "arrayConfig": CONTAINS}
        if self.mode == VECTOR:
            vector_config: dict[str, Any] = {"dimension": self.dimension, "flat": {}}
            return {"fieldPath": self.path, "vectorConfig": vector_config}
        return {"fieldPath": self.path, "order": self.mode}


@dataclass(frozen=True)
class CompositeIndex:
    collection_group: str
    scope: str
    fields: tuple[IndexField, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "collectionGroup": self.collection_group,
            "queryScope": self.scope,
            "fields": [f.to_json() for f in self.fields],
        }


@dataclass
class IndexConfig:
    """The indexes a database has: composite ones and single-field overrides."""

    composites: list[CompositeIndex] = field(default_factory=list)
    # (collection group, field path) -> enabled (scope, mode) pairs; empty = exempted.
    overrides: dict[tuple[str, str], frozenset[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexConfig:
        """Parse the contents of a ``firestore.indexes.json`` file."""
        if not isinstance(data, dict):
            raise ValueError("firestore.indexes.json must hold a JSON object")
        composites = []
        for raw in data.get("indexes", []):
            fields = tuple(_parse_index_field(f) for f in raw.get("fields", []))
            if not fields:
                raise ValueError(f"index without fields: {raw!r}")
            composites.append(
                CompositeIndex(
                    collection_group=raw["collectionGroup"],
                    scope=raw.get("queryScope", COLLECTION),
                    fields=fields,
                )
            )
        overrides: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
        for raw in data.get("fieldOverrides", []):
            if "indexes" not in raw:
                continue  # e.g. a TTL-only override keeps the automatic indexes
            enabled = set()
            for index in raw.get("indexes", []):
                scope = index.get("queryScope", COLLECTION)
                if "order" in index:
                    enabled.add((scope, index["order"]))
                elif index.get("arrayConfig") == CONTAINS:
                    enabled.add((scope, CONTAINS))
            overrides[(raw["collectionGroup"], raw["fieldPath"])] = frozenset(enabled)
        return cls(composites, overrides)

    @classmethod
    def from_file(cls, path: str) -> IndexConfig:
        with open(path, encoding="utf-8") as handle:
            return cls.from_json(json.load(handle))

    def single_field(self, collection_group: str, path: str, scope: str, mode: str) -> bool:
        """Whether a single-field index serves ``path`` in ``mode`` for a query of ``scope``."""
        if path == NAME_FIELD:
            return True
        enabled = self.overrides.get((collection_group, path))
        if enabled is None:
            return scope == COLLECTION
        return (scope, mode) in enabled

    def composites_for(self, collection_group: str, scope: str) -> list[CompositeIndex]:
        return [
            index
            for index in self.composites
            if index.collection_group == collection_group and index.scope == scope
        ]


def _parse_index_field(raw: dict[str, Any]) -> IndexField:
    path = raw["fieldPath"]
    if "order" in raw:
        if raw["order"] not in (ASCENDING, DESCENDING):
            raise ValueError(f"bad order in index field {raw!r}")
        return IndexField(path, raw["order"])
    if raw.get("arrayConfig") == CONTAINS:
        return IndexField(path, CONTAINS)
    if "vectorConfig" in raw:
        return IndexField(path, VECTOR, int(raw["vectorConfig"]["dimension"]))
    raise ValueError(f"index field needs order, arrayConfig or vectorConfig: {raw!r}")


def missing_index(detail: str, snippet: dict[str, Any], section: str) -> EmulatorError:
    return EmulatorError(
        grpc.StatusCode.FAILED_PRECONDITION,
        f'The query requires an index. {detail} Add it to the "{section}" of '
        f"firestore.indexes.json: {json.dumps(snippet, sort_keys=False)}",
    )


# --------------------------------------------------------------------------- planning


def check_query(config: IndexConfig, parent: str, query: Any) -> None:
    """Raise FAILED_PRECONDITION when no index configuration in ``config`` serves ``query``."""
    compiled = compile_query(parent, query)
    _check_compiled(config, compiled, extra_orders=())


def check_aggregation(config: IndexConfig, parent: str, query: Any) -> None:
    """Like ``check_query`` for a StructuredAggregationQuery (sum/avg read their field)."""
    compiled = compile_query(parent, query.structured_query)
    fields = []
    for aggregation in query.aggregations:
        kind = aggregation.WhichOneof("operator")
        if kind in ("sum", "avg"):
            fields.append(getattr(aggregation, kind).field.field_path)
    if not fields:
        _check_compiled(config, compiled, extra_orders=())
    for path in fields:
        _check_compiled(config, compiled, extra_orders=((path, False),))


def _check_compiled(
    config: IndexConfig, compiled: CompiledQuery, extra_orders: Sequence[tuple[str, bool]]
) -> None:
    if not compiled.collection_id:
        return  # kind-less queries only run on the built-in __name__ index
    group = compiled.collection_id
    scope = COLLECTION_GROUP if compiled.all_descendants else COLLECTION
    conjunctions = compiled.filter_tree.dnf() if compiled.filter_tree is not None else [[]]
    if compiled.nearest is not None:
        for conjunction in conjunctions:
            _check_nearest(config, compiled, group, scope, conjunction)
        return
    orders = [(o.path, o.descending) for o in compiled.orders]
    orders.extend(o for o in extra_orders if o[0] not in {path for path, _ in orders})
    for conjunction in conjunctions:
        _check_conjunction(config, group, scope, conjunction, orders)


def _equality_fields(conjunction: Iterable[FieldCondition]) -> dict[str, str]:
    """Equality-set paths mapped to the index mode that serves them."""
    fields: dict[str, str] = {}
    for leaf in conjunction:
        if leaf.path == NAME_FIELD:
            continue
        if leaf.op in _EQUALITY_OPS:
            fields.setdefault(leaf.path, ASCENDING)
        elif leaf.op in _ARRAY_OPS:
            fields[leaf.path] = CONTAINS
    return fields


def _check_conjunction(
    config: IndexConfig,
    group: str,
    scope: str,
    conjunction: Sequence[FieldCondition],
    orders: Sequence[tuple[str, bool]],
) -> None:
    equality = _equality_fields(conjunction)
    pinned = {leaf.path for leaf in conjunction if leaf.op in ("==", "is-null", "is-nan")}
    suffix = [
        IndexField(path, DESCENDING if desc else ASCENDING)
        for path, desc in orders
        if path != NAME_FIELD and path not in pinned
    ]
    suffix_paths = [f.path for f in suffix]
    # An ordered field's index entries already serve an `in` on it; an array-contains on an
    # ordered field still needs its own array entries.
    equality = {p: m for p, m in equality.items() if p not in suffix_paths or m == CONTAINS}
    if not suffix:
        for path, mode in equality.items():
            if not config.single_field(group, path, scope, mode):
                _raise_single_field(group, path, scope, mode)
        return
    if not equality and len(suffix) == 1:
        only = suffix[0]
        if not config.single_field(group, only.path, scope, only.mode):
            _raise_single_field(group, only.path, scope, only.mode)
        return

    covered: set[str] = set()
    usable = False
    for index in config.composites_for(group, scope):
        fields = list(index.fields)
        if fields and fields[-1].path == NAME_FIELD:
            fields = fields[:-1]
        if len(fields) < len(suffix) or fields[len(fields) - len(suffix) :] != suffix:
            continue
        prefix = fields[: len(fields) - len(suffix)]
        if all(
            f.path in equality
            and (f.mode == CONTAINS) == (equality[f.path] == CONTAINS)
            and f.path not in suffix_paths
            for f in prefix
        ):
            covered.update(f.path for f in prefix)
            usable = True
    if usable and set(equality) <= covered:
        return
    wanted = CompositeIndex(
        group,
        scope,
        (*(IndexField(path, mode) for path, mode in equality.items()), *suffix),
    )
    raise missing_index(
        f"No composite index on collection group '{group}' serves it.",
        wanted.to_json(),
        "indexes",
    )


def _raise_single_field(group: str, path: str, scope: str, mode: str) -> None:
    index: dict[str, Any] = {"queryScope": scope}
    if mode == CONTAINS:
        index["arrayConfig"] = CONTAINS
    else:
        index["order"] = mode
    raise missing_index(
        f"The single-field index on '{path}' ({mode}) is not enabled for {scope} scope "
        f"on collection group '{group}'.",
        {"collectionGroup": group, "fieldPath": path, "indexes": [index]},
        "fieldOverrides",
    )


def _check_nearest(
    config: IndexConfig,
    compiled: CompiledQuery,
    group: str,
    scope: str,
    conjunction: Sequence[FieldCondition],
) -> None:
    nearest = compiled.nearest
    assert nearest is not None
    dimension = len(nearest.vector)
    vector_path = nearest.path
    prefilter: dict[str, str] = {}
    for leaf in conjunction:
        if leaf.path != NAME_FIELD:
            prefilter[leaf.path] = CONTAINS if leaf.op in _ARRAY_OPS else ASCENDING
    for index in config.composites_for(group, scope):
        *prefix, last = index.fields
        if last.mode != VECTOR or last.path != vector_path or last.dimension != dimension:
            continue
        if {f.path: (CONTAINS if f.mode == CONTAINS else ASCENDING) for f in prefix} == prefilter:
            return
    wanted = CompositeIndex(
        group,
        scope,
        (
            *(IndexField(p, m) for p, m in prefilter.items()),
            IndexField(vector_path, VECTOR, dimension),
        ),
    )
    raise missing_index(
        f"find_nearest on '{vector_path}' needs a vector index of dimension {dimension}.",
        wanted.to_json(),
        "indexes",
    )
