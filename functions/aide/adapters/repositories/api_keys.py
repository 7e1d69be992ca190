from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.api_keys import ApiKey


class ApiKeyRepository(Repository[ApiKey]):
    collection_name: ClassVar[str] = collections.API_KEYS
    model = ApiKey

    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self.collection.where(filter=FieldFilter("hash", "==", key_hash)).limit(1)
        for snapshot in query.stream():
            return self.from_snapshot(snapshot)
        return None
