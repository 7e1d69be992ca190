"""tasks/{taskId}: every field of the seed's TaskDocument plus queueing, attempts and grouping."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.document_ids import ResourceId, is_usable_id
from aide.domain.free_form import FreeFormMap
from aide.domain.page_cursor import MAX_PAGE_SIZE
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.timestamps import UtcDateTime, utc_now

# ResourceId and is_usable_id live in document_ids; re-exported for modules importing them here.
__all__ = [
    "ExecutionGraph",
    "ExecutionGraphEdge",
    "ExecutionGraphNode",
    "ResourceId",
    "StoredOutput",
    "Task",
    "TaskCreate",
    "TaskList",
    "TaskListQuery",
    "TaskMetrics",
    "TaskPriority",
    "TaskStatus",
    "TaskView",
    "is_usable_id",
]


class TaskPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ExecutionGraphNode(DocumentModel):
    id: str
    type: str
    status: str
    data: Any = None


class ExecutionGraphEdge(DocumentModel):
    source: str
    target: str
    label: str = ""


class ExecutionGraph(DocumentModel):
    nodes: list[ExecutionGraphNode] = Field(default_factory=list)
    edges: list[ExecutionGraphEdge] = Field(default_factory=list)


class TaskMetrics(DocumentModel):
    tokens_used: int | None = Field(default=None, ge=0)
    execution_time_ms: int | None = Field(default=None, ge=0)
    step_count: int | None = Field(default=None, ge=0)
    memory_usage_bytes: int | None = Field(default=None, ge=0)
    # Time spent waiting on the model provider, so the runtime's own overhead is
    # executionTimeMs - providerTimeMs.
    provider_time_ms: int | None = Field(default=None, ge=0)
    retries: int | None = Field(default=None, ge=0)


class StoredOutput(DocumentModel):
    """Outputs too large for the task document, kept in Cloud Storage."""

    bucket: str
    path: str
    size_bytes: int = Field(ge=0)
    content_type: str = "application/json"


class Task(DocumentModel):
    id: str
    user_id: str
    project_id: str | None = None
    group_id: str | None = None
    title: str
    description: str
    status: TaskStatus = TaskStatus.PENDING
    priority: TaskPriority = TaskPriority.MEDIUM
    # None until an agent is picked (creation without agentId chooses one by capability).
    agent_id: str | None = None
    parent_task_id: str | None = None
    subtask_ids: list[str] = Field(default_factory=list)
    dependencies: list[str] = Field(default_factory=list)
    # Reverse edges, so completing a task touches only its own dependents.
    dependents: list[str] = Field(default_factory=list)
    # Dependencies not completed yet; the completion that brings it to 0 dispatches the task, so
    # finding out costs one read of this document instead of reading every dependency.
    unmet_dependencies: int = Field(default=0, ge=0)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    output_ref: StoredOutput | None = None
    error: str | None = None
    cancel_reason: str | None = None
    cancelled_by_failure_of: str | None = None
    """The failed task whose failure cancelled this one (directly or through other dependents):
    retrying that task revives this one. None for any other cancellation (by the user, a
    group cancel, a cancelled dependency)."""
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    estimated_duration: float | None = None
    attempts: int = Field(default=0, ge=0)
    """Every claim of the task, across the user's retries (never reset)."""
    max_attempts: int = Field(default=3, ge=1)
    """Attempts per run of the task: counted from `retriedAtAttempt`."""
    retries: int = Field(default=0, ge=0)
    """Times the user retried the failed task (bounded by the plan's `manualRetriesPerTask`)."""
    retried_at_attempt: int = Field(default=0, ge=0)
    """`attempts` when the user last retried it: the attempts before it used an older budget."""
    # Per-task time limit for one run; the agent's limits.timeoutSeconds applies too (the
    # smaller wins).
    timeout_seconds: int | None = Field(default=None, ge=1)
    queued_at: UtcDateTime | None = None
    started_at: UtcDateTime | None = None
    heartbeat_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None
    failed_at: UtcDateTime | None = None
    cancelled_at: UtcDateTime | None = None
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    execution_graph: ExecutionGraph | None = None
    metrics: TaskMetrics = Field(default_factory=TaskMetrics)

    @property
    def attempts_in_budget(self) -> int:
        """The attempts that count against `maxAttempts` (those since the last user retry)."""
        return max(self.attempts - self.retried_at_attempt, 0)


class TaskCreate(RequestModel):
    """POST /tasks — the seed's task schema."""

    title: str = Field(min_length=3, max_length=100)
    description: str = Field(min_length=10, max_length=5000)
    priority: TaskPriority = TaskPriority.MEDIUM
    agent_id: ResourceId | None = None
    project_id: ResourceId | None = None
    inputs: FreeFormMap | None = None
    dependencies: list[ResourceId] | None = Field(default=None, max_length=100)


DEFAULT_PAGE_SIZE = 20


class TaskListQuery(RequestModel):
    """GET /tasks query string: equality filters, newest first, cursor pagination."""

    status: TaskStatus | None = Field(default=None, description="Only tasks in this status")
    project_id: ResourceId | None = Field(
        default=None,
        description="Only this project's tasks (every task of a project the caller can read)",
    )
    priority: TaskPriority | None = Field(default=None, description="Only tasks of this priority")
    agent_id: ResourceId | None = Field(
        default=None, description="Only tasks assigned to this agent"
    )
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size")
    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The previous page's nextCursor, sent with the same filters",
    )


class TaskList(DocumentModel):
    tasks: list[Task]
    # Absent on the last page; pass it back as `cursor` with the same filters for the next one.
    next_cursor: str | None = None


class TaskView(DocumentModel):
    task: Task


class TaskCancel(RequestModel):
    """POST /tasks/{id}/cancel and /task_groups/{id}/cancel (the body is optional)."""

    reason: str | None = Field(default=None, min_length=1, max_length=500)
