"""A repository per aggregate: models in, models out, Firestore documents in between.

A repository is bound to one transaction when the unit of work (aide.adapters.unit_of_work)
creates it: its reads then go through that transaction and its writes are committed with it.
One created with the client alone reads and writes directly (outside any transaction). Each
write also takes an explicit `writer` (a Transaction or a WriteBatch) and each read an explicit
`transaction`, which win over the bound one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from google.cloud.firestore import DELETE_FIELD, Query
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.domain.base import DocumentModel

if TYPE_CHECKING:
    from google.cloud.firestore import (
        Client,
        CollectionReference,
        DocumentReference,
        DocumentSnapshot,
        Transaction,
        WriteBatch,
    )

    Writer = Transaction | WriteBatch

M = TypeVar("M", bound=DocumentModel)


class Collection:
    """One collection, optionally bound to a transaction (see the module docstring)."""

    collection_name: ClassVar[str]

    def __init__(self, db: Client, transaction: Transaction | None = None) -> None:
        self.db = db
        self.transaction = transaction

    @property
    def collection(self) -> CollectionReference:
        return self.db.collection(self.collection_name)

    def ref(self, doc_id: str) -> DocumentReference:
        return self.collection.document(doc_id)

    def new_id(self) -> str:
        return str(self.collection.document().id)

    def _reader(self, transaction: Transaction | None) -> Transaction | None:
        return transaction if transaction is not None else self.transaction

    def _writer(self, writer: Writer | None) -> Writer | None:
        return writer if writer is not None else self.transaction

    def snapshots(
        self, doc_ids: list[str], *, transaction: Transaction | None = None
    ) -> list[DocumentSnapshot]:
        """The snapshots of `doc_ids` (existing or not), in one round trip."""
        if not doc_ids:
            return []
        refs = [self.ref(doc_id) for doc_id in doc_ids]
        return list(self.db.get_all(refs, transaction=self._reader(transaction)))

    def replace(
        self, doc_id: str, data: Mapping[str, Any], *, writer: Writer | None = None
    ) -> None:
        """Writes the whole document, replacing what was there."""
        ref, chosen = self.ref(doc_id), self._writer(writer)
        if chosen is None:
            ref.set(dict(data))
        else:
            chosen.set(ref, dict(data))

    def merge(
        self, doc_id: str, fields: Mapping[str, Any], *, writer: Writer | None = None
    ) -> None:
        """Sets the given fields (transforms such as Increment included), creating the document
        if needed and leaving the others as they are."""
        ref, chosen = self.ref(doc_id), self._writer(writer)
        if chosen is None:
            ref.set(dict(fields), merge=True)
        else:
            chosen.set(ref, dict(fields), merge=True)

    def update(self, doc_id: str, fields: dict[str, Any], *, writer: Writer | None = None) -> None:
        """Changes the given camelCase field paths (dotted for nested); the document must exist."""
        ref, chosen = self.ref(doc_id), self._writer(writer)
        if chosen is None:
            ref.update(fields)
        else:
            chosen.update(ref, fields)

    def delete(self, doc_id: str, *, writer: Writer | None = None) -> None:
        ref, chosen = self.ref(doc_id), self._writer(writer)
        if chosen is None:
            ref.delete()
        else:
            chosen.delete(ref)


class Repository(Collection, Generic[M]):
    model: type[M]
    # Name of the model field that holds the document id.
    id_field: ClassVar[str] = "id"

    def id_of(self, item: M) -> str:
        return str(getattr(item, self.id_field))

    def from_snapshot(self, snapshot: DocumentSnapshot) -> M:
        return self.model.from_document(snapshot.to_dict() or {})

    def get(self, doc_id: str, *, transaction: Transaction | None = None) -> M | None:
        snapshot = self.ref(doc_id).get(transaction=self._reader(transaction))
        return self.from_snapshot(snapshot) if snapshot.exists else None

    def get_many(self, doc_ids: list[str], *, transaction: Transaction | None = None) -> list[M]:
        """The documents that exist among `doc_ids`, in the order given, in one round trip."""
        found = {
            snapshot.id: self.from_snapshot(snapshot)
            for snapshot in self.snapshots(doc_ids, transaction=transaction)
            if snapshot.exists
        }
        return [found[doc_id] for doc_id in doc_ids if doc_id in found]

    def newest_page(
        self,
        conditions: list[tuple[str, str, Any]],
        *,
        limit: int,
        after: tuple[Any, str] | None = None,
    ) -> list[M]:
        """Up to `limit` documents matching every (field, operator, value) condition, newest
        `createdAt` first (ties by id, descending), starting after the (createdAt, id) position
        `after` (aide.domain.page_cursor). Each combination needs its composite index."""
        query: Any = self.collection
        for field, operator, value in conditions:
            query = query.where(filter=FieldFilter(field, operator, value))
        query = query.order_by("createdAt", direction=Query.DESCENDING).order_by(
            "__name__", direction=Query.DESCENDING
        )
        if after is not None:
            created_at, doc_id = after
            query = query.start_after({"createdAt": created_at, "__name__": self.ref(doc_id)})
        return [self.from_snapshot(snapshot) for snapshot in query.limit(limit).stream()]

    def document(self, item: M) -> dict[str, Any]:
        """The document as stored (a repository may store more than the model's fields)."""
        return item.to_document()

    def create(
        self,
        item: M,
        *,
        writer: Writer | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Writes a new document (with `extra` fields beside the model's, e.g. the audit stamp);
        fails (google.api_core AlreadyExists / Conflict) if it exists."""
        ref, chosen = self.ref(self.id_of(item)), self._writer(writer)
        data = {**self.document(item), **(extra or {})}
        if chosen is None:
            ref.create(data)
        else:
            chosen.create(ref, data)

    def update_changes(
        self,
        before: M,
        after: M,
        *,
        extra: Mapping[str, Any] | None = None,
        writer: Writer | None = None,
    ) -> None:
        """One update that turns the stored `before` into `after`: the top-level fields whose
        value differs are set, those `after` no longer has are deleted (plus `extra` fields)."""
        old, new = self.document(before), self.document(after)
        fields: dict[str, Any] = {key: value for key, value in new.items() if old.get(key) != value}
        fields.update(dict.fromkeys(old.keys() - new.keys(), DELETE_FIELD))
        fields.update(extra or {})
        self.update(self.id_of(after), fields, writer=writer)

    def save(self, item: M, *, writer: Writer | None = None) -> None:
        """Writes the whole document, replacing what was there."""
        self.replace(self.id_of(item), self.document(item), writer=writer)
