"""Versioned, indexed document storage for one Firestore database, and the registry of databases.

Every document keeps the versions written in the last hour so that ``read_time`` reads,
read-only transactions and listener resumes see the database exactly as it was. Documents are
indexed by (parent, collection id) and by collection id alone, so collection scans and
collection-group scans never walk the whole database.

Stored ``Document`` messages are never mutated after they are stored: readers may hand them
to gRPC serialisation without copying.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emulators.firestore.paths import DatabaseId, parent_and_collection

# Firestore serves read_time reads up to one hour back; keeping the same window keeps those
# reads exact. Older versions are dropped when a document is next written (or swept).
HISTORY_MICROS = 3600 * 1_000_000
_SWEEP_INTERVAL_SECONDS = 60.0


class DocEntry:
    """All retained versions of one document name; ``None`` marks a deletion."""

    __slots__ = ("docs", "name", "times")

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[int] = []
        self.docs: list[Any] = []

    @property
    def current(self) -> Any:
        return self.docs[-1] if self.docs else None

    @property
    def update_micros(self) -> int:
        """Time of the current version, 0 when the document does not exist."""
        return self.times[-1] if self.docs and self.docs[-1] is not None else 0

    def at(self, micros: int | None) -> Any:
        if micros is None:
            return self.current
        index = bisect.bisect_right(self.times, micros)
        return self.docs[index - 1] if index else None

    def append(self, micros: int, doc: Any) -> None:
        self.times.append(micros)
        self.docs.append(doc)
        cutoff = micros - HISTORY_MICROS
        if len(self.times) > 1 and self.times[1] <= cutoff:
            # Keep the newest version older than the cutoff: it is what a read at the cutoff sees.
            keep_from = bisect.bisect_right(self.times, cutoff) - 1
            del self.times[:keep_from]
            del self.docs[:keep_from]


@dataclass
class Change:
    """One document changed by a commit (no-op writes produce none)."""

    name: str
    old: Any
    new: Any


CommitHook = Callable[["Database", int, list[Change]], None]


class Database:
    """One (project, database): documents, their indexes, transactions and listeners.

    ``cond`` guards everything; transactions wait on it for document locks.
    """

    def __init__(self, db_id: DatabaseId, hooks: list[CommitHook]) -> None:
        self.id = db_id
        self.cond = threading.Condition(threading.RLock())
        self.entries: dict[str, DocEntry] = {}
        self.collections: dict[tuple[str, str], dict[str, DocEntry]] = {}
        self.groups: dict[str, dict[str, DocEntry]] = {}
        self.last_commit_micros = 0
        self.transactions: dict[bytes, Any] = {}
        self.lock_holders: dict[str, Any] = {}
        self.listeners: set[Any] = set()
        self._hooks = hooks
        self._last_sweep = time.monotonic()

    # --- reads (callers hold ``cond``) ---------------------------------------------------
    def get(self, name: str, read_micros: int | None = None) -> Any:
        entry = self.entries.get(name)
        return entry.at(read_micros) if entry is not None else None

    def source(self, read_micros: int | None = None) -> Source:
        return Source(self, read_micros)

    def existing(self, read_micros: int | None = None) -> Iterator[Any]:
        for entry in self.entries.values():
            doc = entry.at(read_micros)
            if doc is not None:
                yield doc

    def child_collection_ids(self, parent: str) -> list[str]:
        """Ids of collections directly under ``parent`` holding documents at any depth."""
        prefix = parent + "/"
        found: set[str] = set()
        for (coll_parent, collection_id), members in self.collections.items():
            if coll_parent != parent and not coll_parent.startswith(prefix):
                continue
            if not any(entry.current is not None for entry in members.values()):
                continue
            if coll_parent == parent:
                found.add(collection_id)
            else:
                found.add(coll_parent[len(prefix) :].split("/", 1)[0])
        return sorted(found)

    def missing_parents(self, parent: str, collection_id: str) -> set[str]:
        """Names of documents in the collection that do not exist but have descendants."""
        prefix = f"{parent}/{collection_id}/"
        missing: set[str] = set()
        for (coll_parent, _), members in self.collections.items():
            if not coll_parent.startswith(prefix):
                continue
            if not any(entry.current is not None for entry in members.values()):
                continue
            doc_id = coll_parent[len(prefix) :].split("/", 1)[0]
            name = prefix + doc_id
            if self.get(name) is None:
                missing.add(name)
        return missing

    # --- writes (callers hold ``cond``) --------------------------------------------------
    def _entry(self, name: str) -> DocEntry:
        entry = self.entries.get(name)
        if entry is None:
            entry = DocEntry(name)
            self.entries[name] = entry
            parent, collection_id = parent_and_collection(name)
            self.collections.setdefault((parent, collection_id), {})[name] = entry
            self.groups.setdefault(collection_id, {})[name] = entry
        return entry

    def load(self, doc: Any, micros: int) -> None:
        """Insert an imported document as of ``micros`` without running commit hooks."""
        self._entry(doc.name).append(micros, doc)

    def apply(self, micros: int, changes: list[Change]) -> None:
        """Store the new versions of one commit and run the commit hooks (listeners, triggers)."""
        for change in changes:
            self._entry(change.name).append(micros, change.new)
        self.last_commit_micros = micros
        for hook in self._hooks:
            hook(self, micros, changes)
        if time.monotonic() - self._last_sweep > _SWEEP_INTERVAL_SECONDS:
            self._sweep_tombstones(micros)

    def _sweep_tombstones(self, now_micros: int) -> None:
        self._last_sweep = time.monotonic()
        cutoff = now_micros - HISTORY_MICROS
        dead = [
            entry
            for entry in self.entries.values()
            if entry.docs[-1] is None and entry.times[-1] <= cutoff
        ]
        for entry in dead:
            del self.entries[entry.name]
            parent, collection_id = parent_and_collection(entry.name)
            members = self.collections.get((parent, collection_id))
            if members is not None:
                members.pop(entry.name, None)
                if not members:
                    del self.collections[(parent, collection_id)]
            group = self.groups.get(collection_id)
            if group is not None:
                group.pop(entry.name, None)

    def clear(self) -> None:
        self.entries.clear()
        self.collections.clear()
        self.groups.clear()


class Source:
    """The query helper's ``DocumentSource`` over one database at one read time."""

    def __init__(self, db: Database, read_micros: int | None) -> None:
        self._db = db
        self._read_micros = read_micros

    def collection(self, parent: str, collection_id: str) -> Iterable[Any]:
        members = self._db.collections.get((parent, collection_id))
        if not members:
            return
        read_micros = self._read_micros
        if read_micros is None:
            # The hot path of every query: current versions, no history lookup.
            for entry in members.values():
                doc = entry.docs[-1]
                if doc is not None:
                    yield doc
            return
        for entry in members.values():
            doc = entry.at(read_micros)
            if doc is not None:
                yield doc

    def collection_group(self, parent: str, collection_id: str) -> Iterable[Any]:
        """Descendants of ``parent`` in collections named ``collection_id`` ("" = any)."""
        members = self._db.groups.get(collection_id) if collection_id else self._db.entries
        if not members:
            return
        prefix = parent + "/"
        read_micros = self._read_micros
        for name, entry in members.items():
            if name.startswith(prefix):
                doc = entry.at(read_micros)
                if doc is not None:
                    yield doc


@dataclass
class Store:
    """All databases of all projects; each is isolated and has its own lock."""

    hooks: list[CommitHook] = field(default_factory=list)
    _databases: dict[DatabaseId, Database] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def database(self, db_id: DatabaseId) -> Database:
        db = self._databases.get(db_id)
        if db is None:
            with self._lock:
                db = self._databases.get(db_id)
                if db is None:
                    db = Database(db_id, self.hooks)
                    self._databases[db_id] = db
        return db

    def databases(self, project: str | None = None) -> list[Database]:
        with self._lock:
            return [
                db
                for key, db in self._databases.items()
                if project is None or key.project == project
            ]
