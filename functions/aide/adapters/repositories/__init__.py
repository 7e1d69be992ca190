"""One repository per aggregate over Firestore (see base.Repository for the shared contract)."""

from aide.adapters.repositories.agent_memory import MemoryEdgeRepository, MemoryNodeRepository
from aide.adapters.repositories.agents import AgentRepository
from aide.adapters.repositories.api_keys import ApiKeyRepository
from aide.adapters.repositories.audit_logs import AuditLogRepository
from aide.adapters.repositories.base import Repository
from aide.adapters.repositories.knowledge import (
    KnowledgeEntityRepository,
    KnowledgeObservationRepository,
    KnowledgeRelationRepository,
)
from aide.adapters.repositories.probes import ProbeRepository, ProbeResultRepository
from aide.adapters.repositories.projects import ProjectRepository
from aide.adapters.repositories.system_config import PlansRepository
from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.adapters.repositories.usage import BillingRepository, DailyUsageRepository
from aide.adapters.repositories.users import UserRepository

__all__ = [
    "AgentRepository",
    "ApiKeyRepository",
    "AuditLogRepository",
    "BillingRepository",
    "DailyUsageRepository",
    "KnowledgeEntityRepository",
    "KnowledgeObservationRepository",
    "KnowledgeRelationRepository",
    "MemoryEdgeRepository",
    "MemoryNodeRepository",
    "PlansRepository",
    "ProbeRepository",
    "ProbeResultRepository",
    "ProjectRepository",
    "Repository",
    "TaskGroupRepository",
    "TaskRepository",
    "UserRepository",
]
