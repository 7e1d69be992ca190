"""usage/{userId}_{YYYY-MM-DD}: one record per user per UTC day."""

from datetime import date

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now


def daily_usage_id(user_id: str, day: date) -> str:
    return f"{user_id}_{day.isoformat()}"


class DailyUsage(DocumentModel):
    id: str
    user_id: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    api_calls: int = Field(default=0, ge=0)
    task_minutes: float = Field(default=0, ge=0)
    storage_bytes: int = Field(default=0, ge=0)
    tokens_used: int = Field(default=0, ge=0)
    tasks_completed: int = Field(default=0, ge=0)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


# GET /users/me/usage (aide.services.usage_report).
class ApiCallsUsage(DocumentModel):
    used: int
    limit: int
    remaining: int
    reset: UtcDateTime
    burst_limit: int
    burst_window_seconds: int = 60


class TaskMinutesUsage(DocumentModel):
    used: float
    limit: int
    remaining: float
    reset: UtcDateTime


class StorageUsage(DocumentModel):
    used: int
    limit: int
    remaining: int


class CurrentUsage(DocumentModel):
    api_calls: ApiCallsUsage
    task_minutes: TaskMinutesUsage
    storage_bytes: StorageUsage


class UsageReport(DocumentModel):
    plan: str
    usage: CurrentUsage
    history: list[DailyUsage] = Field(default_factory=list)
