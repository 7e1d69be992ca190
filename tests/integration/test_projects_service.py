"""The projects service against the Firestore emulator: ownership, team members, tenancy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aide.adapters.identity import VerifiedIdentity
from aide.domain.access import InsufficientPermissions, ResourceNotFound
from aide.domain.page_cursor import InvalidCursor
from aide.domain.projects import ProjectCreate, ProjectListQuery, ProjectUpdate
from aide.services import projects
from aide.services.authentication import provision_user


def create(db: Any, owner: str, **fields: Any) -> Any:
    body = {"name": "Apollo", **fields}
    return projects.create_project(db, owner, ProjectCreate.model_validate(body))


def _clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _listed(db: Any, uid: str) -> list[Any]:
    return list(projects.list_projects(db, uid, ProjectListQuery()).projects)


def stored(db: Any, project_id: str) -> dict[str, Any] | None:
    return db.collection("projects").document(project_id).get().to_dict()


def test_create_get_update_delete(fs_client: Any) -> None:
    project = create(fs_client, "owner", description="moon", settings={"color": "blue"})
    assert project.visibility == "private"
    assert projects.get_project(fs_client, "owner", project.id) == project

    updated = projects.update_project(
        fs_client,
        "owner",
        project.id,
        ProjectUpdate.model_validate({"name": "Artemis", "description": None}),
    )
    assert updated.name == "Artemis"
    assert updated.description is None
    assert updated.settings == {"color": "blue"}
    assert updated.updated_at >= project.updated_at
    document = stored(fs_client, project.id)
    assert document is not None and "description" not in document

    projects.delete_project(fs_client, "owner", project.id)
    assert stored(fs_client, project.id) is None
    with pytest.raises(ResourceNotFound):
        projects.get_project(fs_client, "owner", project.id)


def test_other_tenant_sees_nothing_and_changes_nothing(fs_client: Any) -> None:
    project = create(fs_client, "owner")
    with pytest.raises(ResourceNotFound):
        projects.get_project(fs_client, "intruder", project.id)
    with pytest.raises(ResourceNotFound):
        projects.update_project(
            fs_client, "intruder", project.id, ProjectUpdate.model_validate({"name": "Mine"})
        )
    with pytest.raises(ResourceNotFound):
        projects.delete_project(fs_client, "intruder", project.id)
    with pytest.raises(ResourceNotFound):
        projects.add_member(fs_client, "intruder", project.id, "intruder")
    assert _listed(fs_client, "intruder") == []
    document = stored(fs_client, project.id)
    assert document is not None and document["name"] == "Apollo"


def test_team_members_read_but_only_the_owner_writes(fs_client: Any) -> None:
    provision_user(fs_client, VerifiedIdentity(uid="member"))
    team = create(fs_client, "owner", visibility="team")
    private = create(fs_client, "owner", name="Private one")

    with pytest.raises(projects.MembershipRefused):
        projects.add_member(fs_client, "owner", team.id, "nobody")
    with pytest.raises(projects.MembershipRefused):
        projects.add_member(fs_client, "owner", team.id, "owner")
    with pytest.raises(projects.MembersNeedTeamProject):
        projects.add_member(fs_client, "owner", private.id, "member")

    with_member = projects.add_member(fs_client, "owner", team.id, "member")
    assert with_member.member_ids == ["member"]
    assert projects.add_member(fs_client, "owner", team.id, "member").member_ids == ["member"]

    assert projects.get_project(fs_client, "member", team.id).id == team.id
    assert [p.id for p in _listed(fs_client, "member")] == [team.id]
    assert {p.id for p in _listed(fs_client, "owner")} == {team.id, private.id}
    with pytest.raises(InsufficientPermissions):
        projects.update_project(
            fs_client, "member", team.id, ProjectUpdate.model_validate({"name": "Taken"})
        )
    with pytest.raises(InsufficientPermissions):
        projects.delete_project(fs_client, "member", team.id)
    with pytest.raises(ResourceNotFound):
        projects.get_project(fs_client, "member", private.id)

    # Turning the project private hides it from members without forgetting them.
    projects.update_project(
        fs_client, "owner", team.id, ProjectUpdate.model_validate({"visibility": "private"})
    )
    with pytest.raises(ResourceNotFound):
        projects.get_project(fs_client, "member", team.id)
    assert _listed(fs_client, "member") == []
    projects.update_project(
        fs_client, "owner", team.id, ProjectUpdate.model_validate({"visibility": "team"})
    )

    # A member may leave; afterwards the project is gone for them.
    left = projects.remove_member(fs_client, "member", team.id, "member")
    assert left.member_ids == []
    with pytest.raises(ResourceNotFound):
        projects.get_project(fs_client, "member", team.id)


def test_members_cannot_remove_others(fs_client: Any) -> None:
    for uid in ("a", "b"):
        provision_user(fs_client, VerifiedIdentity(uid=uid))
    team = create(fs_client, "owner", visibility="team")
    projects.add_member(fs_client, "owner", team.id, "a")
    projects.add_member(fs_client, "owner", team.id, "b")
    with pytest.raises(InsufficientPermissions):
        projects.remove_member(fs_client, "a", team.id, "b")
    assert projects.remove_member(fs_client, "owner", team.id, "b").member_ids == ["a"]
    document = stored(fs_client, team.id)
    assert document is not None and document["memberIds"] == ["a"]


def test_empty_update_changes_nothing(fs_client: Any) -> None:
    project = create(fs_client, "owner")
    same = projects.update_project(fs_client, "owner", project.id, ProjectUpdate())
    assert same == project


def test_listing_pages_through_owned_and_shared_projects_newest_first(fs_client: Any) -> None:
    provision_user(fs_client, VerifiedIdentity(uid="pager"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expected: list[Any] = []
    for index in range(9):
        # Pairs share a createdAt so that ties are ordered by id across both queries.
        at = start + timedelta(minutes=index // 2)
        if index % 3 == 0:
            project = projects.create_project(
                fs_client, "pager", ProjectCreate(name=f"own {index}"), now=_clock(at)
            )
            expected.append(project)
            continue
        visibility = "team" if index % 3 == 1 else "private"
        project = projects.create_project(
            fs_client,
            "other-owner",
            ProjectCreate.model_validate({"name": f"shared {index}", "visibility": visibility}),
            now=_clock(at),
        )
        # A private project keeps the memberIds it had as a team project: listed to nobody but
        # its owner, and it must not end a page early.
        fs_client.collection("projects").document(project.id).update({"memberIds": ["pager"]})
        if visibility == "team":
            expected.append(project)
    expected.sort(key=lambda project: (project.created_at, project.id), reverse=True)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        page = projects.list_projects(fs_client, "pager", ProjectListQuery(limit=2, cursor=cursor))
        assert len(page.projects) <= 2
        seen.extend(project.id for project in page.projects)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [project.id for project in expected]
    whole = projects.list_projects(fs_client, "pager", ProjectListQuery())
    assert [project.id for project in whole.projects] == seen and whole.next_cursor is None


def test_listing_cursor_is_bound_to_its_caller(fs_client: Any) -> None:
    for index in range(3):
        create(fs_client, "cursor-owner", name=f"Project {index}")
    page = projects.list_projects(fs_client, "cursor-owner", ProjectListQuery(limit=1))
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursor):
        projects.list_projects(fs_client, "someone-else", ProjectListQuery(cursor=page.next_cursor))
    with pytest.raises(InvalidCursor):
        projects.list_projects(fs_client, "cursor-owner", ProjectListQuery(cursor="not-a-cursor"))


def test_unreadable_shared_projects_do_not_end_the_listing(fs_client: Any) -> None:
    """A page of the member-of query may hold only projects the caller cannot read (private
    ones that kept their memberIds): the listing must go on to the older team projects."""
    provision_user(fs_client, VerifiedIdentity(uid="reader"))
    start = datetime(2026, 2, 1, tzinfo=UTC)
    team_ids: list[str] = []
    for index in range(5):
        visibility = "team" if index < 2 else "private"
        project = projects.create_project(
            fs_client,
            "hider",
            ProjectCreate.model_validate({"name": f"hidden {index}", "visibility": visibility}),
            now=_clock(start + timedelta(minutes=index)),
        )
        fs_client.collection("projects").document(project.id).update({"memberIds": ["reader"]})
        if visibility == "team":
            team_ids.insert(0, project.id)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = projects.list_projects(fs_client, "reader", ProjectListQuery(limit=2, cursor=cursor))
        seen.extend(project.id for project in page.projects)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == team_ids
