"""`visibility: public` over HTTP with real Auth-emulator tokens: a public project, its tasks,
their events, its task groups and its knowledge are readable by any signed-in user, and
read-only to everyone but the owner (and, in a team project, its members): strangers cannot
change it, add tasks, groups or knowledge to it, or act on its tasks. Anonymous callers see
nothing, and a private project stays invisible (404)."""

from __future__ import annotations

from typing import Any, Final

import pytest
import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
DESCRIPTION: Final = "A description that is long enough."


def call(
    stack: PlatformHandle,
    user: AuthUser | None,
    method: str,
    function: str,
    path: str,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> requests.Response:
    return stack.http.request(
        method,
        stack.url(function, path),
        json=body,
        params=params,
        headers=user.headers if user else None,
        timeout=TIMEOUT_S,
    )


def created(response: requests.Response, key: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json()["data"][key])


@pytest.fixture(scope="module")
def world(stack: PlatformHandle) -> dict[str, Any]:
    owner = stack.create_user()
    stranger = stack.create_user()
    public = created(
        call(stack, owner, "POST", "projects", "/", {"name": "Open", "visibility": "public"}),
        "project",
    )
    private = created(call(stack, owner, "POST", "projects", "/", {"name": "Closed"}), "project")
    task = created(
        call(
            stack,
            owner,
            "POST",
            "tasks",
            "/",
            {"title": "Open work", "description": DESCRIPTION, "projectId": public["id"]},
        ),
        "task",
    )
    group = created(
        call(
            stack,
            owner,
            "POST",
            "task_groups",
            "/",
            {
                "projectId": public["id"],
                "tasks": [{"ref": "a", "title": "Open step", "description": DESCRIPTION}],
            },
        ),
        "taskGroup",
    )
    return {
        "owner": owner,
        "stranger": stranger,
        "public": public["id"],
        "private": private["id"],
        "task": task["id"],
        "group": group["id"],
    }


def test_any_signed_in_user_reads_a_public_project_and_what_belongs_to_it(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    stranger, project = world["stranger"], world["public"]
    response = call(stack, stranger, "GET", "projects", f"/{project}")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["project"]["visibility"] == "public"
    response = call(stack, stranger, "GET", "tasks", f"/{world['task']}")
    assert response.status_code == 200, response.text
    listed = call(stack, stranger, "GET", "tasks", "/", params={"projectId": project})
    assert listed.status_code == 200, listed.text
    ids = {task["id"] for task in listed.json()["data"]["tasks"]}
    assert world["task"] in ids
    events = call(stack, stranger, "GET", "tasks", f"/{world['task']}/events")
    assert events.status_code == 200, events.text
    assert events.json()["data"]["events"]
    group = call(stack, stranger, "GET", "task_groups", f"/{world['group']}")
    assert group.status_code == 200, group.text
    stats = call(stack, stranger, "GET", "knowledge", "/stats", params={"projectId": project})
    assert stats.status_code == 200, stats.text


def test_a_public_project_is_read_only_to_strangers(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    stranger, project = world["stranger"], world["public"]
    refused = [
        call(stack, stranger, "PATCH", "projects", f"/{project}", {"name": "Mine now"}),
        call(stack, stranger, "DELETE", "projects", f"/{project}"),
        call(stack, stranger, "POST", "projects", f"/{project}/members", {"uid": stranger.uid}),
        call(
            stack,
            stranger,
            "POST",
            "knowledge",
            "/entities",
            {"projectId": project, "entities": [{"name": "X", "entityType": "thing"}]},
        ),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
    for path in (f"/{world['task']}/cancel", f"/{world['task']}/retry"):
        assert call(stack, stranger, "POST", "tasks", path).status_code == 404
    assert (
        call(stack, stranger, "POST", "task_groups", f"/{world['group']}/cancel").status_code == 404
    )
    task = call(
        stack,
        stranger,
        "POST",
        "tasks",
        "/",
        {"title": "Intruder", "description": DESCRIPTION, "projectId": project},
    )
    assert task.status_code == 400, task.text
    assert task.json()["error"]["details"][0]["field"] == "projectId"
    assert "read-only" in task.text
    stored = stack.db.collection("projects").document(project).get().to_dict()
    assert stored is not None and stored["name"] == "Open" and stored["memberIds"] == []
    assert (
        call(stack, stranger, "GET", "tasks", "/", params={"projectId": project}).json()["data"][
            "tasks"
        ][0]["userId"]
        == world["owner"].uid
    )


def test_public_projects_are_not_listed_as_the_strangers_own(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    listed = call(stack, world["stranger"], "GET", "projects", "/")
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"]["projects"] == []


def test_private_projects_stay_invisible_and_anonymous_callers_see_nothing(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    response = call(stack, world["stranger"], "GET", "projects", f"/{world['private']}")
    assert response.status_code == 404, response.text
    response = call(stack, None, "GET", "projects", f"/{world['public']}")
    assert response.status_code == 401, response.text
