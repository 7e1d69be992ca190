"""The Listen stream: query and document targets kept current by re-evaluation after commits.

A session re-runs each affected target after every commit batch (under the database lock, so
every evaluation is a consistent snapshot at one read time), diffs the result against what the
client already holds, sends the differences, and then one global NO_CHANGE carrying the read
time: that is the message on which ``on_snapshot`` clients fire their callback.

Resume tokens encode the read time of the last consistent snapshot. On resume the target is
evaluated at that time from the version history and only the differences are sent; if the
history no longer reaches back that far the target is RESET and sent in full.
"""

from __future__ import annotations

import queue
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from emulators.firestore import clock
from emulators.firestore.errors import EmulatorError
from emulators.firestore.paths import parent_and_collection, parse_database, parse_document
from emulators.firestore.protos import ListenResponse, TargetChange
from emulators.firestore.query import run_query
from emulators.firestore.store import HISTORY_MICROS, Change, Database, Store

_NO_CHANGE = TargetChange.TargetChangeType.Value("NO_CHANGE")
_ADD = TargetChange.TargetChangeType.Value("ADD")
_REMOVE = TargetChange.TargetChangeType.Value("REMOVE")
_CURRENT = TargetChange.TargetChangeType.Value("CURRENT")
_RESET = TargetChange.TargetChangeType.Value("RESET")

# Checks a query against index enforcement: (project, parent, query) -> None or raise.
QueryCheck = Callable[[str, str, Any], None]
# Bills listener reads: (project, documents delivered).
BillReads = Callable[[str, int], None]


def encode_token(micros: int) -> bytes:
    return struct.pack(">q", micros)


def decode_token(token: bytes) -> int:
    if len(token) != 8:
        raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid resume token")
    return int(struct.unpack(">q", token)[0])


@dataclass
class _Target:
    target_id: int
    parent: str = ""
    query: Any = None
    collection_id: str = ""
    all_descendants: bool = False
    documents: frozenset[str] = frozenset()
    # What the client holds: document name -> update time (micros).
    held: dict[str, int] = field(default_factory=dict)

    def affected_by(self, name: str) -> bool:
        if self.query is None:
            return name in self.documents
        parent, collection_id = parent_and_collection(name)
        if self.collection_id and collection_id != self.collection_id:
            return False
        if self.all_descendants:
            return name.startswith(self.parent + "/")
        return parent == self.parent

    def evaluate(self, db: Database, read_micros: int | None) -> list[Any]:
        if self.query is None:
            found = []
            for name in sorted(self.documents):
                doc = db.get(name, read_micros)
                if doc is not None:
                    found.append(doc)
            return found
        return run_query(db.source(read_micros), self.parent, self.query)


_END = object()


class ListenSession:
    """One Listen stream; ``responses`` is the gRPC response iterator."""

    def __init__(self, store: Store, check_query: QueryCheck, bill_reads: BillReads) -> None:
        self._store = store
        self._check_query = check_query
        self._bill_reads = bill_reads
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._targets: dict[int, _Target] = {}
        self._db: Database | None = None
        self._next_target_id = 2

    # Commit hook target: runs under the database lock, so it only queues.
    def on_commit(self, changes: list[Change]) -> None:
        self._inbox.put([change.name for change in changes])

    def responses(self, requests: Iterable[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        reader = threading.Thread(
            target=self._read_requests,
            args=(requests,),
            name="firestore-listen-reader",
            daemon=True,
        )
        reader.start()
        context.add_callback(lambda: self._inbox.put(_END))
        try:
            while context.is_active():
                try:
                    item = self._inbox.get(timeout=1.0)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                changed: set[str] = set()
                while True:
                    if isinstance(item, list):
                        changed.update(item)
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        if changed:
                            yield from self._on_changes(changed)
                            changed = set()
                        yield from self._on_request(item)
                    try:
                        item = self._inbox.get_nowait()
                    except queue.Empty:
                        break
                    if item is _END:
                        return
                if changed:
                    yield from self._on_changes(changed)
        finally:
            if self._db is not None:
                with self._db.cond:
                    self._db.listeners.discard(self)

    def _read_requests(self, requests: Iterable[Any]) -> None:
        try:
            for request in requests:
                self._inbox.put(request)
        except Exception:
            pass
        self._inbox.put(_END)

    def _attach(self, database: str) -> Database:
        db = self._store.database(parse_database(database))
        if self._db is None:
            self._db = db
            with db.cond:
                db.listeners.add(self)
        elif self._db is not db:
            raise EmulatorError(
                grpc.StatusCode.INVALID_ARGUMENT, "A Listen stream serves a single database."
            )
        return db

    def _on_request(self, request: Any) -> Iterator[Any]:
        db = self._attach(request.database)
        kind = request.WhichOneof("target_change")
        if kind == "remove_target":
            if self._targets.pop(request.remove_target, None) is not None:
                yield _target_change(_REMOVE, [request.remove_target])
            return
        if kind != "add_target":
            return
        yield from self._add_target(db, request.add_target)

    def _add_target(self, db: Database, spec: Any) -> Iterator[Any]:
        target_id = spec.target_id or self._assign_target_id()
        try:
            target = self._build_target(db, target_id, spec)
        except EmulatorError as exc:
            response = _target_change(_REMOVE, [target_id])
            response.target_change.cause.code = exc.code.value[0]
            response.target_change.cause.message = exc.message
            yield response
            return
        resume_micros: int | None = None
        if spec.WhichOneof("resume_type") == "resume_token":
            resume_micros = decode_token(spec.resume_token)
        elif spec.WhichOneof("resume_type") == "read_time":
            resume_micros = clock.from_timestamp(spec.read_time)
        with db.cond:
            read_micros = clock.now_micros()
            reset = False
            if resume_micros is not None:
                if resume_micros >= read_micros - HISTORY_MICROS:
                    target.held = {
                        doc.name: clock.from_timestamp(doc.update_time)
                        for doc in target.evaluate(db, resume_micros)
                    }
                else:
                    reset = True
            results = target.evaluate(db, None)
        self._targets[target_id] = target
        yield _target_change(_ADD, [target_id])
        if reset:
            yield _target_change(_RESET, [target_id])
        yield from self._diff(db, target, results, read_micros)
        current = _target_change(_CURRENT, [target_id])
        current.target_change.resume_token = encode_token(read_micros)
        clock.set_timestamp(current.target_change.read_time, read_micros)
        yield current
        yield _global_snapshot(read_micros)

    def _assign_target_id(self) -> int:
        while self._next_target_id in self._targets:
            self._next_target_id += 2
        return self._next_target_id

    def _build_target(self, db: Database, target_id: int, spec: Any) -> _Target:
        if target_id in self._targets:
            raise EmulatorError(
                grpc.StatusCode.INVALID_ARGUMENT, f"Target id {target_id} is already in use."
            )
        if spec.WhichOneof("target_type") == "documents":
            names = []
            for name in spec.documents.documents:
                if parse_document(name) != db.id:
                    raise EmulatorError(
                        grpc.StatusCode.INVALID_ARGUMENT, f"{name} is not in {db.id.name}"
                    )
                names.append(name)
            return _Target(target_id, documents=frozenset(names))
        query_target = spec.query
        query = query_target.structured_query
        self._check_query(db.id.project, query_target.parent, query)
        with db.cond:
            run_query(db.source(), query_target.parent, query)  # INVALID_ARGUMENT before ADD
        selector = query.from_[0]
        return _Target(
            target_id,
            parent=query_target.parent,
            query=query,
            collection_id=selector.collection_id,
            all_descendants=selector.all_descendants,
        )

    def _on_changes(self, changed: set[str]) -> Iterator[Any]:
        db = self._db
        if db is None:
            return
        affected = [
            t for t in self._targets.values() if any(t.affected_by(name) for name in changed)
        ]
        if not affected:
            return
        with db.cond:
            read_micros = clock.now_micros()
            evaluated = [(target, target.evaluate(db, None)) for target in affected]
            deleted = {name for name in changed if db.get(name) is None}
        responses: list[Any] = []
        for target, results in evaluated:
            responses.extend(self._diff(db, target, results, read_micros, deleted))
        if responses:
            yield from responses
            yield _global_snapshot(read_micros)

    def _diff(
        self,
        db: Database,
        target: _Target,
        results: list[Any],
        read_micros: int,
        deleted: set[str] | None = None,
    ) -> Iterator[Any]:
        held = target.held
        now: dict[str, int] = {}
        delivered = 0
        for doc in results:
            micros = clock.from_timestamp(doc.update_time)
            now[doc.name] = micros
            if held.get(doc.name) != micros:
                response = ListenResponse()
                change = response.document_change
                change.document.CopyFrom(doc)
                change.target_ids.append(target.target_id)
                delivered += 1
                yield response
        for name in held.keys() - now.keys():
            response = ListenResponse()
            if deleted is not None and name in deleted:
                response.document_delete.document = name
                response.document_delete.removed_target_ids.append(target.target_id)
                clock.set_timestamp(response.document_delete.read_time, read_micros)
            else:
                response.document_remove.document = name
                response.document_remove.removed_target_ids.append(target.target_id)
                clock.set_timestamp(response.document_remove.read_time, read_micros)
            yield response
        target.held = now
        if delivered:
            self._bill_reads(db.id.project, delivered)


def _target_change(kind: int, target_ids: list[int]) -> Any:
    response = ListenResponse()
    response.target_change.target_change_type = kind
    response.target_change.target_ids.extend(target_ids)
    return response


def _global_snapshot(read_micros: int) -> Any:
    response = _target_change(_NO_CHANGE, [])
    clock.set_timestamp(response.target_change.read_time, read_micros)
    response.target_change.resume_token = encode_token(read_micros)
    return response


def listen_commit_hook(db: Database, micros: int, changes: list[Change]) -> None:
    """Store commit hook: wake every Listen session attached to ``db``."""
    for session in db.listeners:
        session.on_commit(changes)
