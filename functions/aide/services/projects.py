"""Projects: the owner creates, changes and deletes; members of a team project read it.

Someone who may not read a project gets ResourceNotFound, exactly as for a missing one; a member
who tries to change it gets InsufficientPermissions (they already know it exists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from aide.adapters.repositories import ProjectRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.access import InsufficientPermissions, ResourceNotFound
from aide.domain.page_cursor import decode_cursor, encode_cursor, listing_fingerprint
from aide.domain.projects import (
    MAX_PROJECT_MEMBERS,
    Project,
    ProjectCreate,
    ProjectList,
    ProjectListQuery,
    ProjectUpdate,
    ProjectVisibility,
)
from aide.domain.timestamps import utc_now
from aide.services import audit_trail

if TYPE_CHECKING:
    from google.cloud.firestore import Client


class MembershipRefused(Exception):
    """A member change the project does not allow; `field` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class MembersNeedTeamProject(Exception):
    """Members belong to team projects only."""


def create_project(
    db: Client, owner_uid: str, request: ProjectCreate, *, now: Callable[[], datetime] = utc_now
) -> Project:
    projects = ProjectRepository(db)
    created_at = now()
    project = Project(
        id=projects.new_id(),
        user_id=owner_uid,
        name=request.name,
        description=request.description,
        visibility=request.visibility,
        settings=request.settings or {},
        created_at=created_at,
        updated_at=created_at,
    )
    projects.create(project, extra=audit_trail.change_stamp())
    return project


def list_projects(db: Client, uid: str, query: ProjectListQuery) -> ProjectList:
    """A page of the projects the user owns and the team projects they are a member of, newest
    first.

    Two queries (owned, member of) each read one page past the cursor and are merged. Where a
    query filled its page, nothing older than its last item is known to be complete, so the page
    stops at the newest such boundary and the next cursor resumes there.
    """
    fingerprint = listing_fingerprint(uid, {"listing": "projects"})
    after = decode_cursor(query.cursor, fingerprint) if query.cursor else None
    projects = ProjectRepository(db)
    fetch = query.limit + 1
    found: dict[str, Project] = {}
    boundary: tuple[datetime, str] | None = None
    for condition in (("userId", "==", uid), ("memberIds", "array_contains", uid)):
        page = projects.newest_page([condition], limit=fetch, after=after)
        if len(page) == fetch:
            last = (page[-1].created_at, page[-1].id)
            boundary = last if boundary is None else max(boundary, last)
        found.update((project.id, project) for project in page if project.can_read(uid))
    ordered = sorted(found.values(), key=_position, reverse=True)
    if boundary is not None:
        ordered = [project for project in ordered if _position(project) >= boundary]
    if len(ordered) > query.limit:
        ordered = ordered[: query.limit]
        resume: tuple[datetime, str] | None = _position(ordered[-1])
    else:
        resume = boundary
    next_cursor = encode_cursor(*resume, fingerprint) if resume is not None else None
    return ProjectList(projects=ordered, next_cursor=next_cursor)


def _position(project: Project) -> tuple[datetime, str]:
    return project.created_at, project.id


def readable_project(projects: ProjectRepository, uid: str, project_id: str) -> Project:
    """The project if `uid` may read it; ResourceNotFound otherwise (absent or not theirs).
    Through the unit of work's repository when `projects` is bound to one."""
    project = projects.get(project_id)
    if project is None or not project.can_read(uid):
        raise ResourceNotFound("Project not found")
    return project


def get_project(db: Client, uid: str, project_id: str) -> Project:
    return readable_project(ProjectRepository(db), uid, project_id)


def _writable_project(projects: ProjectRepository, uid: str, project_id: str) -> Project:
    project = readable_project(projects, uid, project_id)
    if not project.can_write(uid):
        raise InsufficientPermissions("Only the project owner can change it")
    return project


def update_project(
    db: Client,
    uid: str,
    project_id: str,
    request: ProjectUpdate,
    *,
    now: Callable[[], datetime] = utc_now,
) -> Project:
    """Applies the fields the request names (settings are replaced as a whole; a null
    description or settings clears it)."""
    changes = request.model_dump(mode="python", by_alias=True, exclude_unset=True)

    def apply(uow: UnitOfWork) -> bool:
        _writable_project(uow.projects, uid, project_id)
        fields: dict[str, Any] = {}
        for name, value in changes.items():
            if value is not None:
                fields[name] = value
            elif name == "description":
                fields[name] = firestore.DELETE_FIELD
            elif name == "settings":
                fields[name] = {}
            # A null name or visibility has nothing to clear: both always have a value.
        if not fields:
            return False
        uow.projects.update(
            project_id, {**fields, "updatedAt": now(), **audit_trail.change_stamp()}
        )
        return True

    run_in_transaction(db, apply)
    return readable_project(ProjectRepository(db), uid, project_id)


def delete_project(db: Client, uid: str, project_id: str) -> None:
    """Deletes the project document; its tasks keep their projectId (history stays readable)."""

    def apply(uow: UnitOfWork) -> None:
        project = _writable_project(uow.projects, uid, project_id)
        uow.projects.delete(project_id)
        # The trigger cannot know who deleted it: the entry is written here, once (audit_trail).
        uow.audit_logs.create(
            audit_trail.deletion_entry("project", project_id, project.to_document())
        )

    run_in_transaction(db, apply)


def add_member(
    db: Client,
    uid: str,
    project_id: str,
    member_uid: str,
    *,
    now: Callable[[], datetime] = utc_now,
) -> Project:
    def apply(uow: UnitOfWork) -> Project:
        project = _writable_project(uow.projects, uid, project_id)
        if project.visibility != ProjectVisibility.TEAM:
            raise MembersNeedTeamProject("Members can only be added to team projects")
        if member_uid == project.user_id:
            raise MembershipRefused("The owner is not a member of their own project", "uid")
        if member_uid in project.member_ids:
            return project
        if len(project.member_ids) >= MAX_PROJECT_MEMBERS:
            raise MembershipRefused(f"A project has at most {MAX_PROJECT_MEMBERS} members", "uid")
        if uow.users.get(member_uid) is None:
            raise MembershipRefused("No such user", "uid")
        updated_at = now()
        uow.projects.update(
            project_id,
            {
                "memberIds": firestore.ArrayUnion([member_uid]),
                "updatedAt": updated_at,
                **audit_trail.change_stamp(),
            },
        )
        return project.model_copy(
            update={"member_ids": [*project.member_ids, member_uid], "updated_at": updated_at}
        )

    return run_in_transaction(db, apply)


def remove_member(
    db: Client,
    uid: str,
    project_id: str,
    member_uid: str,
    *,
    now: Callable[[], datetime] = utc_now,
) -> Project:
    """The owner removes anyone; a member may remove themself (leave). Idempotent."""

    def apply(uow: UnitOfWork) -> Project:
        project = readable_project(uow.projects, uid, project_id)
        if not project.can_write(uid) and member_uid != uid:
            raise InsufficientPermissions("Only the project owner can remove other members")
        if member_uid not in project.member_ids:
            return project
        updated_at = now()
        uow.projects.update(
            project_id,
            {
                "memberIds": firestore.ArrayRemove([member_uid]),
                "updatedAt": updated_at,
                **audit_trail.change_stamp(),
            },
        )
        remaining = [member for member in project.member_ids if member != member_uid]
        return project.model_copy(update={"member_ids": remaining, "updated_at": updated_at})

    return run_in_transaction(db, apply)


def readable_scope(db: Client, user_id: str, project_id: str | None) -> dict[str, str]:
    """Equality filters of a listing of what `user_id` may read (tasks, task groups): with a
    project they can read, everything of that project; otherwise only their own — within the
    project when one is named, so an unreadable project answers an empty page, not a refusal
    that would tell it exists."""
    if project_id is None:
        return {"userId": user_id}
    project = ProjectRepository(db).get(project_id)
    if project is None or not project.can_read(user_id):
        return {"userId": user_id, "projectId": project_id}
    return {"projectId": project_id}
