"""projects over HTTP: CRUD, team members, tenancy, bad input."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


def call(
    stack: PlatformHandle, user: AuthUser, method: str, path: str, body: Any = None
) -> requests.Response:
    kwargs: dict[str, Any] = {"headers": user.headers, "timeout": TIMEOUT}
    if body is not None:
        kwargs["json"] = body
    return stack.http.request(method, stack.url("projects", path), **kwargs)


def signed_up(stack: PlatformHandle) -> AuthUser:
    user = stack.create_user()
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return user


def test_project_crud(stack: PlatformHandle) -> None:
    owner = signed_up(stack)
    created = call(
        stack, owner, "POST", "/",
        {"name": "Apollo", "description": "To the moon", "settings": {"color": "blue"}},
    )
    assert created.status_code == 201, created.text
    project = created.json()["data"]["project"]
    assert project["userId"] == owner.uid
    assert project["visibility"] == "private"
    assert project["memberIds"] == []
    project_id = project["id"]

    fetched = call(stack, owner, "GET", f"/{project_id}")
    assert fetched.status_code == 200 and fetched.json()["data"]["project"] == project
    listed = call(stack, owner, "GET", "/")
    assert [p["id"] for p in listed.json()["data"]["projects"]] == [project_id]

    patched = call(stack, owner, "PATCH", f"/{project_id}", {"name": "Artemis"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["project"]["name"] == "Artemis"
    assert patched.json()["data"]["project"]["description"] == "To the moon"

    deleted = call(stack, owner, "DELETE", f"/{project_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"] == {"id": project_id, "deleted": True}
    assert call(stack, owner, "GET", f"/{project_id}").status_code == 404
    assert not stack.db.collection("projects").document(project_id).get().exists


def test_team_members(stack: PlatformHandle) -> None:
    owner, member, stranger = signed_up(stack), signed_up(stack), signed_up(stack)
    team = call(stack, owner, "POST", "/", {"name": "Team", "visibility": "team"})
    team_id = team.json()["data"]["project"]["id"]

    added = call(stack, owner, "POST", f"/{team_id}/members", {"uid": member.uid})
    assert added.status_code == 200, added.text
    assert added.json()["data"]["project"]["memberIds"] == [member.uid]
    unknown = call(stack, owner, "POST", f"/{team_id}/members", {"uid": "no-such-user"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"][0]["field"] == "uid"

    assert call(stack, member, "GET", f"/{team_id}").status_code == 200
    assert [p["id"] for p in call(stack, member, "GET", "/").json()["data"]["projects"]] == [
        team_id
    ]
    write = call(stack, member, "PATCH", f"/{team_id}", {"name": "Hijacked"})
    assert write.status_code == 403
    assert write.json()["error"]["code"] == "permission_denied"
    assert call(stack, member, "DELETE", f"/{team_id}").status_code == 403
    adding = call(stack, member, "POST", f"/{team_id}/members", {"uid": stranger.uid})
    assert adding.status_code == 403
    assert call(stack, stranger, "GET", f"/{team_id}").status_code == 404
    assert call(stack, stranger, "GET", "/").json()["data"]["projects"] == []

    private = call(stack, owner, "POST", "/", {"name": "Private"}).json()["data"]["project"]
    refused = call(stack, owner, "POST", f"/{private['id']}/members", {"uid": member.uid})
    assert refused.status_code == 409

    left = call(stack, member, "DELETE", f"/{team_id}/members/{member.uid}")
    assert left.status_code == 200, left.text
    assert call(stack, member, "GET", f"/{team_id}").status_code == 404
    document = stack.db.collection("projects").document(team_id).get().to_dict()
    assert document["memberIds"] == [] and document["name"] == "Team"


def test_bad_input_writes_nothing(stack: PlatformHandle) -> None:
    owner = signed_up(stack)
    cases: list[Any] = [
        {},
        {"name": "ab"},
        {"name": "x" * 101},
        {"name": "Valid", "description": "x" * 1001},
        {"name": "Valid", "visibility": "secret"},
        {"name": "Valid", "settings": ["not", "a", "map"]},
        {"name": "Valid", "userId": "someone-else"},
        {"name": "Valid", "memberIds": ["x"]},
        {"name": 123},
        [],
    ]
    for body in cases:
        response = call(stack, owner, "POST", "/", body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["success"] is False
    for raw, content_type in ((b'{"name": "Valid"', "application/json"),
                              (b'{"name": "Valid"}', "text/plain")):
        response = stack.http.post(
            stack.url("projects", "/"), data=raw,
            headers={**owner.headers, "Content-Type": content_type}, timeout=TIMEOUT,
        )
        assert response.status_code == 400, response.text
    huge = stack.http.post(
        stack.url("projects", "/"),
        data=b'{"name": "Valid", "settings": {"blob": "' + b"x" * (1024 * 1024) + b'"}}',
        headers={**owner.headers, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert huge.status_code == 413
    assert call(stack, owner, "GET", "/").json()["data"]["projects"] == []

    project = call(stack, owner, "POST", "/", {"name": "Valid"}).json()["data"]["project"]
    for body in ({"name": "ab"}, {"owner": "x"}, {"visibility": 1}):
        response = call(stack, owner, "PATCH", f"/{project['id']}", body)
        assert response.status_code == 400, (body, response.text)
    stored = stack.db.collection("projects").document(project["id"]).get().to_dict()
    assert stored["name"] == "Valid" and stored["updatedAt"].isoformat().startswith(
        project["updatedAt"][:19]
    )


def test_unknown_routes_and_methods(stack: PlatformHandle) -> None:
    owner = signed_up(stack)
    assert call(stack, owner, "PUT", "/").status_code == 405
    assert call(stack, owner, "GET", "/a/b/c/d").status_code == 404


def list_page(stack: PlatformHandle, user: AuthUser, **params: Any) -> requests.Response:
    return stack.http.get(
        stack.url("projects", "/"), headers=user.headers, params=params, timeout=TIMEOUT
    )


def test_list_paginates_with_limit_and_cursor(stack: PlatformHandle) -> None:
    owner, teammate = signed_up(stack), signed_up(stack)
    created: list[str] = []
    for index in range(3):
        response = call(stack, owner, "POST", "/", {"name": f"Owned {index}"})
        assert response.status_code == 201, response.text
        created.append(response.json()["data"]["project"]["id"])
    team = call(stack, teammate, "POST", "/", {"name": "Shared", "visibility": "team"})
    team_id = team.json()["data"]["project"]["id"]
    added = call(stack, teammate, "POST", f"/{team_id}/members", {"uid": owner.uid})
    assert added.status_code == 200, added.text
    created.append(team_id)

    whole = list_page(stack, owner)
    assert whole.status_code == 200, whole.text
    newest_first = [project["id"] for project in whole.json()["data"]["projects"]]
    assert sorted(newest_first) == sorted(created)
    assert "nextCursor" not in whole.json()["data"]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    for _ in range(5):
        page = list_page(stack, owner, **params)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        assert len(data["projects"]) <= 3
        seen.extend(project["id"] for project in data["projects"])
        if "nextCursor" not in data:
            break
        params = {"limit": 3, "cursor": data["nextCursor"]}
    assert seen == newest_first

    first = list_page(stack, owner, limit=1).json()["data"]
    foreign = list_page(stack, teammate, cursor=first["nextCursor"])
    assert foreign.status_code == 400, foreign.text
    assert foreign.json()["error"]["details"][0]["field"] == "cursor"


def test_list_refuses_bad_query_parameters(stack: PlatformHandle) -> None:
    user = signed_up(stack)
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "!!!"}):
        response = list_page(stack, user, **params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"]["details"][0]["field"] in params, response.text
    unknown = list_page(stack, user, sort="name")
    assert unknown.status_code == 400, unknown.text
    repeated = stack.http.get(
        stack.url("projects", "/") + "?limit=1&limit=2", headers=user.headers, timeout=TIMEOUT
    )
    assert repeated.status_code == 400, repeated.text
