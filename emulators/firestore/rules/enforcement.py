"""Security rules enforcement for the emulator's RPCs: which rules apply to which project, and
the decision for document reads, queries, writes and Listen targets.

Only client callers (see ``auth``) are checked, and only when rules are configured for the
project (per project, else the emulator-wide default); without rules everything is allowed.

Queries: Firestore proves statically that every possible result is allowed; like the official
emulator this approximates it by evaluating ``list`` against each document the query returns
and denying the whole query if any is denied. A query with no results is evaluated against
one hypothetical document made of the query's equality and array-contains constraints, so
"list someone else's tasks" or an unauthenticated query is denied even on an empty collection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc

from emulators.firestore import clock
from emulators.firestore.errors import EmulatorError
from emulators.firestore.listen import ListenSession, _Target
from emulators.firestore.protos import StructuredQuery
from emulators.firestore.query import field_segments, run_query
from emulators.firestore.rules.auth import ADMIN, Caller, caller_from_metadata
from emulators.firestore.rules.ruleset import Ruleset
from emulators.firestore.rules.values import (
    RulesPath,
    Timestamp,
    document_path,
    from_value,
    resource_of,
)
from emulators.firestore.store import Database

PERMISSION_DENIED_MESSAGE = "Missing or insufficient permissions."
_HYPOTHETICAL_ID = "__query_result__"


def permission_denied() -> EmulatorError:
    return EmulatorError(grpc.StatusCode.PERMISSION_DENIED, PERMISSION_DENIED_MESSAGE)


class _StoreReader:
    """``get()``/``exists()`` read the store directly; ``getAfter()`` sees pending writes.

    One reader serves one request: a document read twice is read (and billed) once.
    """

    def __init__(self, db: Database, after: dict[str, Any] | None = None) -> None:
        self._db = db
        self._after = after or {}
        self.read: dict[str, dict[str, Any] | None] = {}

    def _name(self, path: RulesPath) -> str | None:
        if path.segments[1] != self._db.id.database:
            return None
        return f"projects/{self._db.id.project}/{'/'.join(path.segments)}"

    def get(self, path: RulesPath) -> dict[str, Any] | None:
        name = self._name(path)
        if name is None:
            return None
        if name not in self.read:
            with self._db.cond:
                self.read[name] = resource_of(self._db.get(name))
        return self.read[name]

    def get_after(self, path: RulesPath) -> dict[str, Any] | None:
        name = self._name(path)
        if name is None:
            return None
        if name in self._after:
            return resource_of(self._after[name])
        return self.get(path)


class RulesPolicy:
    """The rules in force per project; ``None`` everywhere means every request is allowed."""

    def __init__(self, bill_reads: Callable[[str, int], None] | None = None) -> None:
        # Firestore bills the documents rules read with get()/exists(): (project, count).
        self._bill_reads = bill_reads
        self._lock = threading.Lock()
        self._default: Ruleset | None = None
        self._projects: dict[str, Ruleset | None] = {}

    # ------------------------------------------------------------------ configuration
    def load_default(self, path: str | Path) -> None:
        """Rules for every project without its own (raises ``RulesSyntaxError``)."""
        self._default = Ruleset.load(Path(path).read_text(encoding="utf-8"))

    def set_project(self, project: str, source: str | None) -> None:
        """Rules text for one project; ``None`` falls back to the default rules."""
        ruleset = None if source is None else Ruleset.load(source)
        with self._lock:
            if ruleset is None:
                self._projects.pop(project, None)
            else:
                self._projects[project] = ruleset

    def source(self, project: str) -> str | None:
        ruleset = self._ruleset(project)
        return None if ruleset is None else ruleset.source

    def _ruleset(self, project: str) -> Ruleset | None:
        with self._lock:
            if project in self._projects:
                return self._projects[project]
        return self._default

    @property
    def configured(self) -> bool:
        return self._default is not None or bool(self._projects)

    def caller(self, context: grpc.ServicerContext) -> Caller:
        """The request's caller; admin (nothing to check) whenever no rules are configured."""
        if not self.configured:
            return ADMIN
        return caller_from_metadata(context.invocation_metadata())

    def _bill(self, db: Database, reader: _StoreReader) -> None:
        if self._bill_reads is not None and reader.read:
            self._bill_reads(db.id.project, len(reader.read))

    def _enforced(self, project: str, caller: Caller) -> Ruleset | None:
        if caller.admin:
            return None
        ruleset = self._ruleset(project)
        if ruleset is not None:
            caller.check_credentials()
        return ruleset

    # ------------------------------------------------------------------ decisions
    def _require(
        self,
        ruleset: Ruleset,
        db: Database,
        reader: _StoreReader,
        decisions: Iterator[tuple[str, RulesPath, dict[str, Any], Any]],
    ) -> None:
        """Raise PERMISSION_DENIED unless every (method, path, request, resource) is allowed."""
        try:
            for method, path, request, resource in decisions:
                if not ruleset.allows(method, path, request, resource, reader):
                    raise permission_denied()
        finally:
            self._bill(db, reader)

    def check_gets(
        self, db: Database, caller: Caller, names: Iterable[str], at: int | None
    ) -> None:
        """Document reads (GetDocument, BatchGetDocuments, Listen document targets)."""
        ruleset = self._enforced(db.id.project, caller)
        if ruleset is None:
            return
        request = _request(caller, "get", clock.now_micros())

        def decisions() -> Iterator[tuple[str, RulesPath, dict[str, Any], Any]]:
            for name in names:
                with db.cond:
                    doc = db.get(name, at)
                path = document_path(name)
                yield "get", path, {**request, "path": path}, resource_of(doc)

        self._require(ruleset, db, _StoreReader(db), decisions())

    def check_query(
        self,
        db: Database,
        caller: Caller,
        parent: str,
        query: Any,
        results: list[Any] | None = None,
        at: int | None = None,
    ) -> None:
        """A query (RunQuery, RunAggregationQuery, ListDocuments, Listen query targets)."""
        ruleset = self._enforced(db.id.project, caller)
        if ruleset is None:
            return
        if results is None:
            with db.cond:
                results = run_query(db.source(at), parent, query)
        request = _request(caller, "list", clock.now_micros())
        request["query"] = _query_summary(query)
        found = results

        def decisions() -> Iterator[tuple[str, RulesPath, dict[str, Any], Any]]:
            if not found:
                collection_id = query.from_[0].collection_id or "_"
                path = document_path(f"{parent}/{collection_id}/{_HYPOTHETICAL_ID}")
                data = _constraints(query)
                resource = {"data": data, "id": _HYPOTHETICAL_ID, "__name__": path}
                yield "list", path, {**request, "path": path}, resource
            for result in found:
                with db.cond:
                    # Evaluate the stored document, not a projection of it.
                    doc = db.get(result.name, at) or result
                path = document_path(doc.name)
                yield "list", path, {**request, "path": path}, resource_of(doc)

        self._require(ruleset, db, _StoreReader(db), decisions())

    def check_listing(
        self, db: Database, caller: Caller, parent: str, collection_id: str, docs: list[Any]
    ) -> None:
        """ListDocuments of one collection (or of every collection under ``parent``)."""
        if self._enforced(db.id.project, caller) is None:
            return
        query = StructuredQuery()
        query.from_.add(collection_id=collection_id)
        # "Missing" parents listed with show_missing are not documents: nothing to read.
        existing = [doc for doc in docs if doc.HasField("create_time")]
        self.check_query(db, caller, parent, query, existing)

    def check_writes(
        self, db: Database, caller: Caller, commit_micros: int, pending: dict[str, Any]
    ) -> None:
        """A commit's writes: ``pending`` maps each written document to its state after the
        commit (None when deleted). Called under ``db.cond`` before anything is applied."""
        ruleset = self._enforced(db.id.project, caller)
        if ruleset is None:
            return

        def decisions() -> Iterator[tuple[str, RulesPath, dict[str, Any], Any]]:
            for name, after in pending.items():
                before = db.get(name)
                if after is None:
                    method = "delete"
                elif before is None:
                    method = "create"
                else:
                    method = "update"
                request = _request(caller, method, commit_micros)
                path = document_path(name)
                request["path"] = path
                request["resource"] = resource_of(after)
                yield method, path, request, resource_of(before)

        self._require(ruleset, db, _StoreReader(db, pending), decisions())

    def check_collection_ids(self, project: str, caller: Caller) -> None:
        """ListCollectionIds is not available to client SDKs at all."""
        if self._enforced(project, caller) is not None:
            raise permission_denied()

    def listen_session(
        self,
        caller: Caller,
        session_factory: Callable[..., ListenSession],
        *args: Any,
    ) -> ListenSession:
        """A Listen session whose targets are checked when added (a denied target is removed
        with a PERMISSION_DENIED cause, as Firestore does) and again for every document a
        later change brings into a target: one the caller may not read ends the stream with
        PERMISSION_DENIED rather than reaching the client."""
        session = session_factory(*args)
        if caller.admin or not self.configured:
            return session
        original = session._build_target
        policy = self

        def check(db: Database, target: _Target, docs: list[Any]) -> None:
            if target.query is None:
                policy.check_gets(db, caller, [doc.name for doc in docs], None)
            else:
                policy.check_query(db, caller, target.parent, target.query, docs)

        def build_target(db: Database, target_id: int, spec: Any) -> _Target:
            target = original(db, target_id, spec)
            if target.query is None:
                policy.check_gets(db, caller, sorted(target.documents), None)
            else:
                policy.check_query(db, caller, target.parent, target.query)
            evaluate = target.evaluate
            checked_when_added = True

            def guarded(db: Database, read_micros: int | None) -> list[Any]:
                nonlocal checked_when_added
                results = evaluate(db, read_micros)
                if read_micros is not None:
                    return results  # a resume's past state, only diffed against
                if checked_when_added:
                    checked_when_added = False
                    return results
                held = target.held
                fresh = [
                    doc
                    for doc in results
                    if held.get(doc.name) != clock.from_timestamp(doc.update_time)
                ]
                if fresh:
                    check(db, target, fresh)
                return results

            target.evaluate = guarded  # type: ignore[method-assign]
            return target

        session._build_target = build_target  # type: ignore[method-assign]
        return session


def _request(caller: Caller, method: str, micros: int) -> dict[str, Any]:
    return {
        "auth": caller.auth,
        "method": method,
        "time": Timestamp(micros * 1000),
        "resource": None,
    }


def _query_summary(query: Any) -> dict[str, Any]:
    if query is None:
        return {"limit": None, "offset": None, "orderBy": None}
    return {
        "limit": query.limit.value if query.HasField("limit") else None,
        "offset": query.offset or None,
        "orderBy": query.order_by[0].field.field_path if query.order_by else None,
    }


def _constraints(query: Any) -> dict[str, Any]:
    """Fields every result of ``query`` must have: its equality and array-contains filters."""
    data: dict[str, Any] = {}
    if query is None or not query.HasField("where"):
        return data
    _collect_constraints(query.where, data)
    return data


def _collect_constraints(filter_: Any, data: dict[str, Any]) -> None:
    kind = filter_.WhichOneof("filter_type")
    if kind == "composite_filter":
        composite = filter_.composite_filter
        if composite.op == composite.Operator.Value("AND"):
            for child in composite.filters:
                _collect_constraints(child, data)
        return
    if kind != "field_filter":
        return
    field_filter = filter_.field_filter
    operator = field_filter.Operator.Name(field_filter.op)
    value = from_value(field_filter.value)
    if operator == "EQUAL":
        pass
    elif operator == "ARRAY_CONTAINS":
        value = [value]
    elif operator in ("IN", "ARRAY_CONTAINS_ANY") and isinstance(value, list) and len(value) == 1:
        value = value if operator == "ARRAY_CONTAINS_ANY" else value[0]
    else:
        return
    segments = field_segments(field_filter.field.field_path)
    if segments == ("__name__",):
        return
    target = data
    for segment in segments[:-1]:
        nested = target.setdefault(segment, {})
        if not isinstance(nested, dict):
            return
        target = nested
    target[segments[-1]] = value
