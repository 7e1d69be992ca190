"""audit_logs/{id}: who did what — written once per state change, never by clients."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.timestamps import UtcDateTime, utc_now


class ActorType(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


class AuditLog(DocumentModel):
    id: str
    # Flat actor fields so `actorId ==` filters need no nested-field index.
    actor_type: ActorType
    actor_id: str
    action: str  # e.g. "task.created", "api_key.revoked"
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    timestamp: UtcDateTime = Field(default_factory=utc_now)


# GET /admin/audit-logs: filters (query string) and a page of entries.
class AuditLogQuery(RequestModel):
    actor_id: str | None = Field(default=None, description="Only entries by this actor")
    action: str | None = Field(default=None, description="Only entries of this action")
    resource_type: str | None = Field(
        default=None, description="Only entries about this resource type"
    )
    resource_id: str | None = Field(default=None, description="Only entries about this resource")
    since: UtcDateTime | None = Field(default=None, description="Entries at or after this time")
    until: UtcDateTime | None = Field(default=None, description="Entries before this time")
    limit: int = Field(default=50, ge=1, le=200, description="Page size")
    cursor: str | None = Field(default=None, description="The previous page's nextCursor")


class AuditLogPage(DocumentModel):
    logs: list[AuditLog]
    next_cursor: str | None = None
