from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from google.api_core import exceptions
from google.cloud.firestore import Query
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.audit_logs import AuditLog


class AuditLogRepository(Repository[AuditLog]):
    collection_name: ClassVar[str] = collections.AUDIT_LOGS
    model = AuditLog

    def create_once(self, log: AuditLog) -> bool:
        """Create the entry outside any transaction; False when it already exists."""
        try:
            self.ref(log.id).create(log.to_document())
        except (exceptions.AlreadyExists, exceptions.Conflict):
            return False
        return True

    def page(
        self,
        equalities: dict[str, str],
        *,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        after: tuple[datetime, str] | None = None,
    ) -> list[AuditLog]:
        """Up to `limit` entries matching every (field == value), in [since, until), newest
        `timestamp` first (ties by id, descending), after the (timestamp, id) position `after`.
        Each equality combination needs its composite index (firestore.indexes.json)."""
        query: Any = self.collection
        for name, value in equalities.items():
            query = query.where(filter=FieldFilter(name, "==", value))
        if since is not None:
            query = query.where(filter=FieldFilter("timestamp", ">=", since))
        if until is not None:
            query = query.where(filter=FieldFilter("timestamp", "<", until))
        query = query.order_by("timestamp", direction=Query.DESCENDING).order_by(
            "__name__", direction=Query.DESCENDING
        )
        if after is not None:
            query = query.start_after({"timestamp": after[0], "__name__": self.ref(after[1])})
        return [self.from_snapshot(snapshot) for snapshot in query.limit(limit).stream()]
