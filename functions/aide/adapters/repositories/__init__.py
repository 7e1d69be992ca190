"""One repository per aggregate over Firestore (see base.Repository for the shared contract)."""

from aide.adapters.repositories.agent_memory import MemoryEdgeRepository, MemoryNodeRepository
from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.api_keys import ApiKeyRepository
from aide.adapters.repositories.audit_logs import AuditLogRepository
from aide.adapters.repositories.base import Collection, Repository
from aide.adapters.repositories.expiring import (
    IdempotencyRecordRepository,
    ProcessedEventRepository,
)
from aide.adapters.repositories.knowledge import (
    KnowledgeDocuments,
    KnowledgeEntityRepository,
    KnowledgeGraphQueries,
    KnowledgeObservationRepository,
    KnowledgeRelationRepository,
    KnowledgeScopeStatsRepository,
)
from aide.adapters.repositories.probes import ProbeRepository, ProbeResultRepository
from aide.adapters.repositories.projects import ProjectRepository
from aide.adapters.repositories.quota_counters import QuotaCounterRepository
from aide.adapters.repositories.system_config import PlansRepository
from aide.adapters.repositories.task_dispatches import TaskDispatchRepository
from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.task_slots import TaskSlotsRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.adapters.repositories.usage import BillingRepository, DailyUsageRepository
from aide.adapters.repositories.users import UserRepository

__all__ = [
    "AgentRepository",
    "ApiKeyRepository",
    "AuditLogRepository",
    "BillingRepository",
    "Collection",
    "DailyUsageRepository",
    "IdempotencyRecordRepository",
    "KnowledgeDocuments",
    "KnowledgeEntityRepository",
    "KnowledgeGraphQueries",
    "KnowledgeObservationRepository",
    "KnowledgeRelationRepository",
    "KnowledgeScopeStatsRepository",
    "MemoryEdgeRepository",
    "MemoryNodeRepository",
    "PlansRepository",
    "ProbeRepository",
    "ProbeResultRepository",
    "ProcessedEventRepository",
    "ProjectRepository",
    "QuotaCounterRepository",
    "Repository",
    "TaskDispatchRepository",
    "TaskGroupRepository",
    "TaskRepository",
    "TaskSlotsRepository",
    "UserRepository",
]
