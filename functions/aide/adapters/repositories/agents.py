from typing import ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.agents import Agent, AgentStatus


class AgentRepository(Repository[Agent]):
    collection_name: ClassVar[str] = collections.AGENTS
    model = Agent

    def find(self, *, status: AgentStatus | None = None, limit: int = 100) -> list[Agent]:
        if status is None:
            query = self.collection.limit(limit)
        else:
            query = self.collection.where(filter=FieldFilter("status", "==", str(status)))
            query = query.limit(limit)
        return [self.from_snapshot(snapshot) for snapshot in query.stream()]
