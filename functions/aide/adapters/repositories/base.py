"""A repository per aggregate: models in, models out, Firestore documents in between.

Every write accepts an optional `writer` — a Transaction (the unit of work) or a WriteBatch — so a
service composes several repositories' writes into one atomic commit. Reads accept an optional
transaction so they take part in its consistency checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

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


class Repository(Generic[M]):
    collection_name: ClassVar[str]
    model: type[M]
    # Name of the model field that holds the document id.
    id_field: ClassVar[str] = "id"

    def __init__(self, db: Client) -> None:
        self.db = db

    @property
    def collection(self) -> CollectionReference:
        return self.db.collection(self.collection_name)

    def ref(self, doc_id: str) -> DocumentReference:
        return self.collection.document(doc_id)

    def new_id(self) -> str:
        return str(self.collection.document().id)

    def id_of(self, item: M) -> str:
        return str(getattr(item, self.id_field))

    def from_snapshot(self, snapshot: DocumentSnapshot) -> M:
        return self.model.from_document(snapshot.to_dict() or {})

    def get(self, doc_id: str, *, transaction: Transaction | None = None) -> M | None:
        snapshot = self.ref(doc_id).get(transaction=transaction)
        return self.from_snapshot(snapshot) if snapshot.exists else None

    def get_many(self, doc_ids: list[str], *, transaction: Transaction | None = None) -> list[M]:
        """The documents that exist among `doc_ids`, in the order given, in one round trip."""
        if not doc_ids:
            return []
        refs = [self.ref(doc_id) for doc_id in doc_ids]
        found = {
            snapshot.id: self.from_snapshot(snapshot)
            for snapshot in self.db.get_all(refs, transaction=transaction)
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
        from google.cloud.firestore import Query
        from google.cloud.firestore_v1.base_query import FieldFilter

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

    def create(self, item: M, *, writer: Writer | None = None) -> None:
        """Writes a new document; fails (google.api_core AlreadyExists / Conflict) if it exists."""
        ref = self.ref(self.id_of(item))
        if writer is None:
            ref.create(item.to_document())
        else:
            writer.create(ref, item.to_document())

    def save(self, item: M, *, writer: Writer | None = None) -> None:
        """Writes the whole document, replacing what was there."""
        ref = self.ref(self.id_of(item))
        if writer is None:
            ref.set(item.to_document())
        else:
            writer.set(ref, item.to_document())

    def update(self, doc_id: str, fields: dict[str, Any], *, writer: Writer | None = None) -> None:
        """Changes the given camelCase field paths (dotted for nested); the document must exist."""
        ref = self.ref(doc_id)
        if writer is None:
            ref.update(fields)
        else:
            writer.update(ref, fields)

    def delete(self, doc_id: str, *, writer: Writer | None = None) -> None:
        ref = self.ref(doc_id)
        if writer is None:
            ref.delete()
        else:
            writer.delete(ref)
