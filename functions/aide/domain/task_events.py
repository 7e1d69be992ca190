"""tasks/{taskId}/events/{eventId}: the append-only stream clients listen to for live progress."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.page_cursor import MAX_PAGE_SIZE
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.timestamps import UtcDateTime, utc_now


class StreamEventKind(StrEnum):
    """Every `kind` the stream may carry: the lifecycle's (task_lifecycle.TaskEventKind, one per
    status change) plus what creation and the agent runtime append."""

    CREATED = "created"
    QUEUED = "queued"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REQUEUED = "requeued"
    RETRIED = "retried"
    STEP = "step"
    PROGRESS = "progress"
    OUTPUT = "output"
    LOG = "log"
    HEARTBEAT = "heartbeat"


class TokenCounts(DocumentModel):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)


class TaskEvent(DocumentModel):
    id: str
    task_id: str
    kind: StreamEventKind
    message: str = ""
    timestamp: UtcDateTime = Field(default_factory=utc_now)
    # Orders events written within the same millisecond.
    sequence: int | None = Field(default=None, ge=0)
    from_status: TaskStatus | None = None
    to_status: TaskStatus | None = None
    tokens: TokenCounts | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class TaskEventList(DocumentModel):
    """GET /tasks/{id}/events: the stream so far, oldest first (clients then listen live)."""

    events: list[TaskEvent]
    # Absent on the last page; pass it back as `cursor` for the next one.
    next_cursor: str | None = None


class TaskEventListQuery(RequestModel):
    """GET /tasks/{id}/events query string: oldest first, cursor pagination (the same cursor
    contract as every list: aide.domain.page_cursor)."""

    limit: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size")
    cursor: str | None = Field(
        default=None, min_length=1, max_length=2000, description="The previous page's nextCursor"
    )
