from typing import ClassVar

from google.cloud.firestore import Query
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.api_keys import ApiKey


class ApiKeyRepository(Repository[ApiKey]):
    collection_name: ClassVar[str] = collections.API_KEYS
    model = ApiKey

    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        query = self.collection.where(filter=FieldFilter("hash", "==", key_hash)).limit(1)
        for snapshot in query.stream():
            return self.from_snapshot(snapshot)
        return None

    def of_user(self, user_id: str, *, limit: int) -> list[ApiKey]:
        """The user's keys, newest first."""
        query = (
            self.collection.where(filter=FieldFilter("userId", "==", user_id))
            .order_by("createdAt", direction=Query.DESCENDING)
            .limit(limit)
        )
        return [self.from_snapshot(snapshot) for snapshot in query.stream()]
