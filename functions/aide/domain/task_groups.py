"""task_groups/{groupId}: the seed's createTaskGroup — tasks naming each other by client refs.

Status, progress and the per-status counters come from task_graph (GroupStatus, GroupCounts): the
group document stores all six counters so each task status change updates it in O(1).
"""

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.document_ids import ResourceId
from aide.domain.free_form import FreeFormMap
from aide.domain.page_cursor import MAX_PAGE_SIZE
from aide.domain.task_graph import MAX_GROUP_TASKS, GroupCounts, GroupStatus
from aide.domain.tasks import DEFAULT_PAGE_SIZE, TaskPriority
from aide.domain.timestamps import UtcDateTime, utc_now

# Names the contracts publish; the definitions live in task_graph.
MAX_TASKS_PER_GROUP = MAX_GROUP_TASKS
TaskGroupStatus = GroupStatus


class TaskGroupMember(DocumentModel):
    ref: str
    id: str


class TaskGroup(DocumentModel):
    id: str
    user_id: str
    project_id: str | None = None
    name: str | None = None
    status: GroupStatus = GroupStatus.PENDING
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    # All six per-status counters, camelCase like every stored field ("inProgress").
    counts: GroupCounts = Field(default_factory=GroupCounts)
    tasks: list[TaskGroupMember] = Field(default_factory=list)
    cancel_reason: str | None = None
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)
    completed_at: UtcDateTime | None = None


class TaskGroupTaskSpec(RequestModel):
    ref: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=3, max_length=100)
    description: str = Field(min_length=10, max_length=5000)
    priority: TaskPriority = TaskPriority.MEDIUM
    agent_id: ResourceId | None = None
    inputs: FreeFormMap | None = None
    dependencies: list[str] = Field(default_factory=list)


class TaskGroupCreate(RequestModel):
    project_id: ResourceId | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)
    tasks: list[TaskGroupTaskSpec] = Field(min_length=1, max_length=MAX_TASKS_PER_GROUP)


class TaskGroupView(DocumentModel):
    """`data` of the task_groups endpoints."""

    task_group: TaskGroup


class TaskGroupListQuery(RequestModel):
    """GET /task_groups query string: equality filters, newest first, cursor pagination (the
    cursor contract of every list, aide.domain.page_cursor)."""

    status: GroupStatus | None = Field(default=None, description="Only groups in this status")
    project_id: ResourceId | None = Field(
        default=None,
        description="Only this project's groups (every group of a project the caller can read)",
    )
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size")
    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The previous page's nextCursor, sent with the same filters",
    )


class TaskGroupList(DocumentModel):
    task_groups: list[TaskGroup]
    # Absent on the last page; pass it back as `cursor` with the same filters for the next one.
    next_cursor: str | None = None
