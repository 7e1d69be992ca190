"""The ``google.firestore.v1.Firestore`` gRPC service on raw protobuf messages.

Each RPC validates names, takes the database lock only for the in-memory work, bills the
operation to its project, and maps ``EmulatorError`` to a gRPC status. Unknown methods get
UNIMPLEMENTED from gRPC itself (the generic handler does not list them).
"""

from __future__ import annotations

import base64
import math
import secrets
import string
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import empty_pb2
from google.rpc import status_pb2

from emulators.firestore import clock, transactions
from emulators.firestore.costs import CostLedger
from emulators.firestore.errors import EmulatorError
from emulators.firestore.indexing import IndexPolicy
from emulators.firestore.listen import ListenSession, listen_commit_hook
from emulators.firestore.paths import (
    DatabaseId,
    parse_database,
    parse_document,
    parse_parent,
    validate_collection_id,
)
from emulators.firestore.protos import (
    BatchGetDocumentsRequest,
    BatchGetDocumentsResponse,
    BatchWriteRequest,
    BatchWriteResponse,
    BeginTransactionRequest,
    BeginTransactionResponse,
    CommitRequest,
    CommitResponse,
    CreateDocumentRequest,
    DeleteDocumentRequest,
    Document,
    GetDocumentRequest,
    ListCollectionIdsRequest,
    ListCollectionIdsResponse,
    ListDocumentsRequest,
    ListDocumentsResponse,
    ListenRequest,
    RollbackRequest,
    RunAggregationQueryRequest,
    RunAggregationQueryResponse,
    RunQueryRequest,
    RunQueryResponse,
    UpdateDocumentRequest,
    Write,
    WriteRequest,
    WriteResult,
)
from emulators.firestore.query import field_segments, project, run_query
from emulators.firestore.rules.auth import ADMIN, Caller
from emulators.firestore.rules.enforcement import RulesPolicy
from emulators.firestore.store import Change, Database, Store
from emulators.firestore.transactions import Transaction
from emulators.firestore.triggers import TriggerDispatcher
from emulators.firestore.writes import (
    apply_write,
    check_precondition,
    verify_target,
    write_target,
)

SERVICE_NAME = "google.firestore.v1.Firestore"
_AUTO_ID_ALPHABET = string.ascii_letters + string.digits
_EMPTY = object()


def _invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


def _auto_id() -> str:
    return "".join(secrets.choice(_AUTO_ID_ALPHABET) for _ in range(20))


def _masked(doc: Any, mask: Any) -> Any:
    if mask is None:
        return doc
    return project(doc, [field_segments(path) for path in mask.field_paths])


def _mask_of(request: Any) -> Any:
    return request.mask if request.HasField("mask") else None


class FirestoreService:
    """Firestore semantics over a ``Store``, with costs, triggers and index enforcement."""

    def __init__(self) -> None:
        self.costs = CostLedger()
        self.triggers = TriggerDispatcher()
        self.indexes = IndexPolicy()
        self.rules = RulesPolicy(lambda project, count: self.costs.add(project, reads=count))
        self.store = Store(hooks=[listen_commit_hook, self.triggers.on_commit])

    # ------------------------------------------------------------------ helpers
    def _database(self, db_id: DatabaseId) -> Database:
        return self.store.database(db_id)

    def _read_context(
        self, db: Database, request: Any
    ) -> tuple[Transaction | None, int | None, bytes | None]:
        """(transaction, read time, id of a transaction begun here) for a read request."""
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            txn = transactions.lookup(db, request.transaction)
            return txn, txn.read_micros, None
        if selector == "new_transaction":
            txn = transactions.begin(db, request.new_transaction, clock.now_micros())
            return txn, txn.read_micros, txn.id
        if selector == "read_time":
            return None, clock.from_timestamp(request.read_time), None
        return None, None, None

    def _read_doc(self, db: Database, name: str, txn: Transaction | None, at: int | None) -> Any:
        """Read under ``db.cond``; a read-write transaction locks and remembers the document."""
        if txn is not None and not txn.read_only:
            transactions.acquire(db, txn, name)
            if txn.wounded:
                return db.get(name, txn.snapshot_micros)
            entry = db.entries.get(name)
            # The first read counts: a later change, even one re-read here, aborts the commit.
            txn.reads.setdefault(name, entry.update_micros if entry is not None else 0)
            return entry.current if entry is not None else None
        return db.get(name, at)

    def _query_signature(
        self, db: Database, parent: str, query: Any
    ) -> tuple[tuple[str, int], ...]:
        return tuple(
            (doc.name, clock.from_timestamp(doc.update_time))
            for doc in run_query(db.source(), parent, query)
        )

    def _transactional_query(self, db: Database, txn: Transaction, parent: str, query: Any) -> list:
        """Run ``query`` in a read-write transaction: lock its results, guard against phantoms."""
        if txn.wounded:
            return run_query(db.source(txn.snapshot_micros), parent, query)
        results = run_query(db.source(), parent, query)
        for _ in range(10):
            for doc in results:
                transactions.acquire(db, txn, doc.name)
            again = run_query(db.source(), parent, query)
            stable = [d.name for d in again] == [d.name for d in results]
            results = again
            if txn.wounded:
                return run_query(db.source(txn.snapshot_micros), parent, query)
            if stable:
                break
        for doc in results:
            entry = db.entries.get(doc.name)
            txn.reads.setdefault(doc.name, entry.update_micros if entry is not None else 0)
        signature = tuple((d.name, clock.from_timestamp(d.update_time)) for d in results)
        txn.queries.append((parent, query, signature))
        return results

    # ------------------------------------------------------------------ commits
    def commit_writes(
        self,
        db: Database,
        writes: Any,
        txn: Transaction | None = None,
        caller: Caller = ADMIN,
    ) -> tuple[int, list[Any]]:
        """Apply ``writes`` atomically; returns (commit time in micros, write results)."""
        write_count = delete_count = 0
        with db.cond:
            try:
                if txn is not None:
                    if txn.read_only and len(writes):
                        raise _invalid("Cannot modify entities in a read-only transaction.")
                    transactions.validate_for_commit(
                        db, txn, lambda parent, query: self._query_signature(db, parent, query)
                    )
                micros = clock.next_commit_micros()
                commit_ts = clock.to_timestamp(micros)
                pending: dict[str, Any] = {}
                results: list[Any] = []
                for write in writes:
                    name = write_target(write)
                    if parse_document(name) != db.id:
                        raise _invalid(f"Document {name} is not in database {db.id.name}")
                    current = pending.get(name, _EMPTY)
                    if current is _EMPTY:
                        current = db.get(name)
                    if verify_target(write) is not None:
                        # The web SDK's transactions end with one verify per document they
                        # read and did not write: a precondition only, nothing is written.
                        check_precondition(write, name, current)
                        results.append(WriteResult())
                        continue
                    outcome = apply_write(write, name, current, commit_ts)
                    result = WriteResult()
                    result.transform_results.extend(outcome.transform_results)
                    new = outcome.doc
                    if new is None:
                        delete_count += 1
                    else:
                        write_count += 1
                        if current is not None and current.fields == new.fields:
                            new = current  # no-op: Firestore keeps the previous update_time
                        else:
                            if current is not None:
                                new.create_time.CopyFrom(current.create_time)
                            else:
                                new.create_time.CopyFrom(commit_ts)
                            new.update_time.CopyFrom(commit_ts)
                        result.update_time.CopyFrom(new.update_time)
                    pending[name] = new
                    results.append(result)
                self.rules.check_writes(db, caller, micros, pending)
                changes = []
                for name, new in pending.items():
                    old = db.get(name)
                    if new is not old:
                        changes.append(Change(name, old, new))
                if changes:
                    db.apply(micros, changes)
            finally:
                if txn is not None:
                    transactions.finish(db, txn)
        self.costs.add(db.id.project, writes=write_count, deletes=delete_count)
        return micros, results

    # ------------------------------------------------------------------ RPCs
    def get_document(self, request: Any, context: grpc.ServicerContext) -> Any:
        db_id = parse_document(request.name)
        db = self._database(db_id)
        with db.cond:
            txn, at, _ = self._read_context(db, request)
            doc = self._read_doc(db, request.name, txn, at)
        self.costs.add(db_id.project, reads=1)
        self.rules.check_gets(db, self.rules.caller(context), [request.name], at)
        if doc is None:
            raise EmulatorError(grpc.StatusCode.NOT_FOUND, f'Document "{request.name}" not found.')
        return _masked(doc, _mask_of(request))

    def batch_get_documents(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        db_id = parse_database(request.database)
        names = list(request.documents)
        for name in names:
            if parse_document(name) != db_id:
                raise _invalid(f"Document {name} is not in database {request.database}")
        db = self._database(db_id)
        mask = _mask_of(request)
        with db.cond:
            txn, at, new_id = self._read_context(db, request)
            if txn is not None and not txn.read_only:
                for name in sorted(set(names)):
                    transactions.acquire(db, txn, name)
            found = [self._read_doc(db, name, txn, at) for name in names]
            read_micros = at if at is not None else clock.now_micros()
        self.costs.add(db_id.project, reads=len(names))
        self.rules.check_gets(db, self.rules.caller(context), names, at)
        read_ts = clock.to_timestamp(read_micros)
        for index, (name, doc) in enumerate(zip(names, found, strict=True)):
            response = BatchGetDocumentsResponse()
            if doc is None:
                response.missing = name
            else:
                response.found.CopyFrom(_masked(doc, mask))
            response.read_time.CopyFrom(read_ts)
            if index == 0 and new_id is not None:
                response.transaction = new_id
            yield response
        if not names and new_id is not None:
            yield BatchGetDocumentsResponse(transaction=new_id, read_time=read_ts)

    def list_documents(self, request: Any, context: grpc.ServicerContext) -> Any:
        db_id = parse_parent(request.parent)
        # An empty collection id lists every collection directly under the parent.
        if request.collection_id:
            validate_collection_id(request.collection_id)
        db = self._database(db_id)
        with db.cond:
            selector = request.WhichOneof("consistency_selector")
            at = clock.from_timestamp(request.read_time) if selector == "read_time" else None
            if selector == "transaction":
                at = transactions.lookup(db, request.transaction).read_micros
            collection_ids = (
                [request.collection_id]
                if request.collection_id
                else [cid for (parent, cid) in db.collections if parent == request.parent]
            )
            source = db.source(at)
            docs: list[Any] = []
            missing: set[str] = set()
            for collection_id in collection_ids:
                docs.extend(source.collection(request.parent, collection_id))
                if request.show_missing:
                    missing |= db.missing_parents(request.parent, collection_id)
        by_name: dict[str, Any] = {doc.name: doc for doc in docs}
        for name in missing:
            by_name.setdefault(name, Document(name=name))
        names = sorted(by_name)
        if request.page_token:
            try:
                after = base64.urlsafe_b64decode(request.page_token.encode()).decode()
            except ValueError:
                raise _invalid("Invalid page token") from None
            names = [name for name in names if name > after]
        response = ListDocumentsResponse()
        page = names if request.page_size <= 0 else names[: request.page_size]
        self.rules.check_listing(
            db,
            self.rules.caller(context),
            request.parent,
            request.collection_id,
            [by_name[name] for name in page],
        )
        mask = _mask_of(request)
        for name in page:
            response.documents.append(_masked(by_name[name], mask))
        if len(page) < len(names):
            response.next_page_token = base64.urlsafe_b64encode(page[-1].encode()).decode()
        self.costs.add(db_id.project, reads=max(len(page), 1))
        return response

    def create_document(self, request: Any, context: grpc.ServicerContext) -> Any:
        db_id = parse_parent(request.parent)
        validate_collection_id(request.collection_id)
        name = f"{request.parent}/{request.collection_id}/{request.document_id or _auto_id()}"
        parse_document(name)
        write = Write()
        write.update.CopyFrom(request.document)
        write.update.name = name
        write.current_document.exists = False
        db = self._database(db_id)
        self.commit_writes(db, [write], caller=self.rules.caller(context))
        with db.cond:
            doc = db.get(name)
        return _masked(doc, _mask_of(request))

    def update_document(self, request: Any, context: grpc.ServicerContext) -> Any:
        name = request.document.name
        db_id = parse_document(name)
        write = Write()
        write.update.CopyFrom(request.document)
        if request.HasField("update_mask"):
            write.update_mask.CopyFrom(request.update_mask)
        if request.HasField("current_document"):
            write.current_document.CopyFrom(request.current_document)
        db = self._database(db_id)
        self.commit_writes(db, [write], caller=self.rules.caller(context))
        with db.cond:
            doc = db.get(name)
        return _masked(doc, _mask_of(request))

    def delete_document(self, request: Any, context: grpc.ServicerContext) -> Any:
        db_id = parse_document(request.name)
        write = Write(delete=request.name)
        if request.HasField("current_document"):
            write.current_document.CopyFrom(request.current_document)
        self.commit_writes(self._database(db_id), [write], caller=self.rules.caller(context))
        return empty_pb2.Empty()

    def begin_transaction(self, request: Any, context: grpc.ServicerContext) -> Any:
        db = self._database(parse_database(request.database))
        options = request.options if request.HasField("options") else None
        with db.cond:
            txn = transactions.begin(db, options, clock.now_micros())
        return BeginTransactionResponse(transaction=txn.id)

    def commit(self, request: Any, context: grpc.ServicerContext) -> Any:
        db = self._database(parse_database(request.database))
        txn = None
        if request.transaction:
            with db.cond:
                txn = transactions.lookup(db, request.transaction)
        micros, results = self.commit_writes(
            db, request.writes, txn, caller=self.rules.caller(context)
        )
        response = CommitResponse()
        response.write_results.extend(results)
        clock.set_timestamp(response.commit_time, micros)
        return response

    def rollback(self, request: Any, context: grpc.ServicerContext) -> Any:
        db = self._database(parse_database(request.database))
        with db.cond:
            txn = db.transactions.get(request.transaction)
            # Rolling back a transaction the server already ended (aborted commit, expiry) is
            # harmless: the client rolls back after a final ABORTED commit.
            if txn is not None:
                transactions.finish(db, txn)
        return empty_pb2.Empty()

    def run_query(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        db_id = parse_parent(request.parent)
        if request.WhichOneof("query_type") != "structured_query":
            raise _invalid("Only structured queries are supported.")
        query = request.structured_query
        self.indexes.check(db_id.project, request.parent, query)
        db = self._database(db_id)
        with db.cond:
            txn, at, new_id = self._read_context(db, request)
            if txn is not None and not txn.read_only:
                docs = self._transactional_query(db, txn, request.parent, query)
            else:
                docs = run_query(db.source(at), request.parent, query)
            read_micros = at if at is not None else clock.now_micros()
        self.costs.add(db_id.project, reads=max(len(docs), 1))
        self.rules.check_query(db, self.rules.caller(context), request.parent, query, docs, at)
        read_ts = clock.to_timestamp(read_micros)
        if not docs:
            response = RunQueryResponse()
            response.read_time.CopyFrom(read_ts)
            if new_id is not None:
                response.transaction = new_id
            yield response
            return
        for index, doc in enumerate(docs):
            response = RunQueryResponse()
            response.document.CopyFrom(doc)
            response.read_time.CopyFrom(read_ts)
            if index == 0 and new_id is not None:
                response.transaction = new_id
            yield response

    def run_aggregation_query(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        from emulators.firestore.aggregation import run_aggregation

        db_id = parse_parent(request.parent)
        if request.WhichOneof("query_type") != "structured_aggregation_query":
            raise _invalid("Only structured aggregation queries are supported.")
        aggregation = request.structured_aggregation_query
        self.indexes.check_aggregation(db_id.project, request.parent, aggregation)
        db = self._database(db_id)
        with db.cond:
            txn, at, new_id = self._read_context(db, request)
            if txn is not None and not txn.read_only:
                self._transactional_query(db, txn, request.parent, aggregation.structured_query)
                if txn.wounded:
                    at = txn.snapshot_micros
            fields, scanned = run_aggregation(db.source(at), request.parent, aggregation)
            read_micros = at if at is not None else clock.now_micros()
        self.costs.add(db_id.project, reads=max(1, math.ceil(scanned / 1000)))
        self.rules.check_query(
            db, self.rules.caller(context), request.parent, aggregation.structured_query, None, at
        )
        response = RunAggregationQueryResponse()
        for alias, value in fields.items():
            response.result.aggregate_fields[alias].CopyFrom(value)
        clock.set_timestamp(response.read_time, read_micros)
        if new_id is not None:
            response.transaction = new_id
        yield response

    def list_collection_ids(self, request: Any, context: grpc.ServicerContext) -> Any:
        db_id = parse_parent(request.parent)
        self.rules.check_collection_ids(db_id.project, self.rules.caller(context))
        db = self._database(db_id)
        with db.cond:
            ids = db.child_collection_ids(request.parent)
        if request.page_token:
            ids = [i for i in ids if i > request.page_token]
        response = ListCollectionIdsResponse()
        page = ids if request.page_size <= 0 else ids[: request.page_size]
        response.collection_ids.extend(page)
        if len(page) < len(ids):
            response.next_page_token = page[-1]
        self.costs.add(db_id.project, reads=1)
        return response

    def batch_write(self, request: Any, context: grpc.ServicerContext) -> Any:
        db = self._database(parse_database(request.database))
        caller = self.rules.caller(context)
        response = BatchWriteResponse()
        for write in request.writes:
            status = status_pb2.Status()
            try:
                _, results = self.commit_writes(db, [write], caller=caller)
                response.write_results.append(results[0])
            except EmulatorError as exc:
                status.code = exc.code.value[0]
                status.message = exc.message
                response.write_results.append(WriteResult())
            response.status.append(status)
        return response

    def listen(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        session = self.rules.listen_session(
            self.rules.caller(context),
            ListenSession,
            self.store,
            self.indexes.check,
            lambda project_id, count: self.costs.add(project_id, reads=count),
        )
        return session.responses(requests, context)

    def write(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        from emulators.firestore.write_stream import WriteStream

        stream = WriteStream(self, self.rules.caller(context))
        for request in requests:
            yield stream.handle(request)

    # ------------------------------------------------------------------ wiring
    def generic_handler(self) -> grpc.GenericRpcHandler:
        unary: dict[str, tuple[Callable[..., Any], Any]] = {
            "GetDocument": (self.get_document, GetDocumentRequest),
            "ListDocuments": (self.list_documents, ListDocumentsRequest),
            "CreateDocument": (self.create_document, CreateDocumentRequest),
            "UpdateDocument": (self.update_document, UpdateDocumentRequest),
            "DeleteDocument": (self.delete_document, DeleteDocumentRequest),
            "BeginTransaction": (self.begin_transaction, BeginTransactionRequest),
            "Commit": (self.commit, CommitRequest),
            "Rollback": (self.rollback, RollbackRequest),
            "ListCollectionIds": (self.list_collection_ids, ListCollectionIdsRequest),
            "BatchWrite": (self.batch_write, BatchWriteRequest),
        }
        streaming: dict[str, tuple[Callable[..., Any], Any]] = {
            "BatchGetDocuments": (self.batch_get_documents, BatchGetDocumentsRequest),
            "RunQuery": (self.run_query, RunQueryRequest),
            "RunAggregationQuery": (self.run_aggregation_query, RunAggregationQueryRequest),
        }
        handlers: dict[str, grpc.RpcMethodHandler] = {}
        for method, (fn, request_cls) in unary.items():
            handlers[method] = grpc.unary_unary_rpc_method_handler(
                _unary_errors(fn),
                request_deserializer=request_cls.FromString,
                response_serializer=_serialize,
            )
        for method, (fn, request_cls) in streaming.items():
            handlers[method] = grpc.unary_stream_rpc_method_handler(
                _stream_errors(fn),
                request_deserializer=request_cls.FromString,
                response_serializer=_serialize,
            )
        handlers["Listen"] = grpc.stream_stream_rpc_method_handler(
            _stream_errors(self.listen),
            request_deserializer=ListenRequest.FromString,
            response_serializer=_serialize,
        )
        handlers["Write"] = grpc.stream_stream_rpc_method_handler(
            _stream_errors(self.write),
            request_deserializer=WriteRequest.FromString,
            response_serializer=_serialize,
        )
        return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _unary_errors(fn: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(request, context)
        except EmulatorError as exc:
            context.abort(exc.code, exc.message)

    return handler


def _stream_errors(
    fn: Callable[[Any, grpc.ServicerContext], Iterator[Any]],
) -> Callable[..., Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from fn(request, context)
        except EmulatorError as exc:
            context.abort(exc.code, exc.message)

    return handler
