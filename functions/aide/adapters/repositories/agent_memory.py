from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.agent_memory import MemoryEdge, MemoryNode


class MemoryNodeRepository(Repository[MemoryNode]):
    collection_name: ClassVar[str] = collections.AGENT_MEMORY
    model = MemoryNode


class MemoryEdgeRepository(Repository[MemoryEdge]):
    collection_name: ClassVar[str] = collections.AGENT_MEMORY
    model = MemoryEdge
