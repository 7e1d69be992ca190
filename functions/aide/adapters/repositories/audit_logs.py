from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.audit_logs import AuditLog


class AuditLogRepository(Repository[AuditLog]):
    collection_name: ClassVar[str] = collections.AUDIT_LOGS
    model = AuditLog
