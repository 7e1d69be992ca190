from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.users import User

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentSnapshot


class UserRepository(Repository[User]):
    collection_name: ClassVar[str] = collections.USERS
    model = User
    id_field: ClassVar[str] = "uid"

    def due_for_reset(
        self,
        field_path: str,
        now: datetime,
        *,
        limit: int,
        after: DocumentSnapshot | None = None,
    ) -> list[DocumentSnapshot]:
        """A page of users whose `field_path` (a reset time) is at or before `now`, earliest
        first, after the snapshot `after`; only that field is read (single-field index)."""
        query = (
            self.collection.where(filter=FieldFilter(field_path, "<=", now))
            .order_by(field_path)
            .select([field_path])
            .limit(limit)
        )
        if after is not None:
            query = query.start_after(after)
        return list(query.stream())
