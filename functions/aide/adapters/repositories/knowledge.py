from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.knowledge import KnowledgeEntity, KnowledgeObservation, KnowledgeRelation


class KnowledgeEntityRepository(Repository[KnowledgeEntity]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeEntity


class KnowledgeRelationRepository(Repository[KnowledgeRelation]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeRelation


class KnowledgeObservationRepository(Repository[KnowledgeObservation]):
    collection_name: ClassVar[str] = collections.KNOWLEDGE_GRAPH
    model = KnowledgeObservation
