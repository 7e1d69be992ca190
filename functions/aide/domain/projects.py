"""projects/{projectId}: the seed's project schema plus members of team projects."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.free_form import FreeFormMap
from aide.domain.page_cursor import MAX_PAGE_SIZE
from aide.domain.timestamps import UtcDateTime, utc_now


class ProjectVisibility(StrEnum):
    """Who may read a project and what belongs to it (its tasks, task groups, their events and
    its knowledge). Only the owner changes the project; only the owner and team members add
    tasks or knowledge to it.

    * private: the owner only;
    * team: the owner and the members (`memberIds`);
    * public: any signed-in user, read-only."""

    PRIVATE = "private"
    TEAM = "team"
    PUBLIC = "public"


VISIBILITY_DESCRIPTION = (
    "private: the owner only; team: the owner and its members; public: readable (never "
    "writable) by any signed-in user. Applies to the project's tasks, task groups, events and "
    "knowledge too."
)


class Project(DocumentModel):
    id: str
    user_id: str  # the owner, as in the seed's `projects where userId ==`
    name: str
    description: str | None = None
    visibility: ProjectVisibility = Field(
        default=ProjectVisibility.PRIVATE, description=VISIBILITY_DESCRIPTION
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    # Flat list of uids so security rules can test `request.auth.uid in resource.data.memberIds`.
    member_ids: list[str] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)

    def can_read(self, uid: str) -> bool:
        if self.visibility == ProjectVisibility.PUBLIC and uid:
            return True
        return self.can_contribute(uid)

    def can_contribute(self, uid: str) -> bool:
        """Whether `uid` may add tasks, task groups or knowledge to the project: its owner and,
        in a team project, its members. Reading a public project grants nothing more."""
        if uid == self.user_id:
            return True
        return self.visibility == ProjectVisibility.TEAM and uid in self.member_ids

    def can_write(self, uid: str) -> bool:
        """Only the owner changes a project, its members or deletes it."""
        return uid == self.user_id


class ProjectCreate(RequestModel):
    """POST /projects — the seed's project schema."""

    name: str = Field(min_length=3, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    visibility: ProjectVisibility = Field(
        default=ProjectVisibility.PRIVATE, description=VISIBILITY_DESCRIPTION
    )
    settings: FreeFormMap | None = None


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=3, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    visibility: ProjectVisibility | None = Field(default=None, description=VISIBILITY_DESCRIPTION)
    settings: FreeFormMap | None = None


MAX_PROJECT_MEMBERS = 100


class ProjectMemberAdd(RequestModel):
    """POST /projects/{projectId}/members — adds a user (by uid) to a team project."""

    uid: str = Field(min_length=1, max_length=128)


class ProjectEnvelope(DocumentModel):
    project: Project


class ProjectListQuery(RequestModel):
    """GET /projects query string: newest first, cursor pagination."""

    # 100 by default: the listing answered the newest 100 before it had pages.
    limit: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size")
    cursor: str | None = Field(
        default=None, min_length=1, max_length=2000, description="The previous page's nextCursor"
    )


class ProjectList(DocumentModel):
    projects: list[Project]
    # Absent on the last page; pass it back as `cursor` for the next one.
    next_cursor: str | None = None


class ProjectDeleted(DocumentModel):
    id: str
    deleted: bool = True
