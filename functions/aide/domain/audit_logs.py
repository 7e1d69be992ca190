"""audit_logs/{id}: who did what — written once per state change, never by clients."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel
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
