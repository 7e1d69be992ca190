"""The projects service against the Firestore emulator: ownership, team members, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from aide.adapters.identity import VerifiedIdentity
from aide.domain.access import InsufficientPermissions, ResourceNotFound
from aide.domain.projects import ProjectCreate, ProjectUpdate
from aide.services import projects
from aide.services.authentication import provision_user


def create(db: Any, owner: str, **fields: Any) -> Any:
    body = {"name": "Apollo", **fields}
    return projects.create_project(db, owner, ProjectCreate.model_validate(body))


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
    assert projects.list_projects(fs_client, "intruder") == []
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
    assert [p.id for p in projects.list_projects(fs_client, "member")] == [team.id]
    assert {p.id for p in projects.list_projects(fs_client, "owner")} == {team.id, private.id}
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
    assert projects.list_projects(fs_client, "member") == []
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
