"""Listing task groups, over HTTP with real Auth-emulator tokens: the caller's own groups newest
first, with a status filter and the shared cursor contract (bad filters, limits and cursors are
a field-level 400), a project's groups for whoever can read the project; and the Firestore query
a web client runs to list its own groups live (`task_groups where userId == me order by
createdAt desc`) is indexed and allowed by the rules, as that client (its ID token) runs it."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any, Final

import pytest
import requests
from google.cloud.firestore import Query
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.stack.clients import firestore_client
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
DESCRIPTION: Final = "A description that is long enough."
GROUPS: Final = 5


def create_group(
    stack: PlatformHandle, user: AuthUser, name: str, project_id: str | None = None
) -> str:
    body: dict[str, Any] = {
        "name": name,
        "tasks": [{"ref": "a", "title": "Step one", "description": DESCRIPTION}],
    }
    if project_id:
        body["projectId"] = project_id
    response = stack.http.post(
        stack.url("task_groups", "/"), json=body, headers=user.headers, timeout=TIMEOUT_S
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["taskGroup"]["id"])


def list_groups(stack: PlatformHandle, user: AuthUser, **params: Any) -> requests.Response:
    return stack.http.get(
        stack.url("task_groups", "/"), params=params, headers=user.headers, timeout=TIMEOUT_S
    )


@pytest.fixture(scope="module")
def world(stack: PlatformHandle) -> dict[str, Any]:
    owner = stack.create_user()
    other = stack.create_user()
    others_group = create_group(stack, other, "not yours")
    mine = [create_group(stack, owner, f"group {index}") for index in range(GROUPS)]
    cancelled = stack.http.post(
        stack.url("task_groups", f"/{mine[1]}/cancel"), headers=owner.headers, timeout=TIMEOUT_S
    )
    assert cancelled.status_code == 200, cancelled.text
    return {"owner": owner, "other": other, "mine": mine, "others_group": others_group}


def test_own_groups_page_newest_first_and_nobody_elses(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = list_groups(stack, world["owner"], **params)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data["taskGroups"]) <= 2
        seen += [group["id"] for group in data["taskGroups"]]
        cursor = data.get("nextCursor")
        if not cursor:
            break
    assert seen == list(reversed(world["mine"]))
    assert world["others_group"] not in seen


def test_the_status_filter_lists_only_groups_in_that_status(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    response = list_groups(stack, world["owner"], status="cancelled")
    assert response.status_code == 200, response.text
    groups = response.json()["data"]["taskGroups"]
    assert [group["id"] for group in groups] == [world["mine"][1]]
    assert all(group["status"] == "cancelled" for group in groups)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "zzz"}, "cursor"),
    ],
)
def test_bad_filters_limits_and_cursors_are_a_field_level_400(
    stack: PlatformHandle, world: dict[str, Any], params: dict[str, str], field: str
) -> None:
    response = list_groups(stack, world["owner"], **params)
    assert response.status_code == 400, response.text
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


def test_a_cursor_is_bound_to_its_filters_and_its_caller(
    stack: PlatformHandle, world: dict[str, Any]
) -> None:
    cursor = list_groups(stack, world["owner"], limit=1).json()["data"]["nextCursor"]
    for user, params in (
        (world["owner"], {"status": "pending", "cursor": cursor}),
        (world["other"], {"cursor": cursor}),
    ):
        response = list_groups(stack, user, **params)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_a_readable_projects_groups_are_listed_by_project(stack: PlatformHandle) -> None:
    owner, reader = stack.create_user(), stack.create_user()
    project = stack.http.post(
        stack.url("projects", "/"),
        json={"name": "Open groups", "visibility": "public"},
        headers=owner.headers,
        timeout=TIMEOUT_S,
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["data"]["project"]["id"]
    group = create_group(stack, owner, "in the project", project_id)
    response = list_groups(stack, reader, projectId=project_id)
    assert response.status_code == 200, response.text
    assert [g["id"] for g in response.json()["data"]["taskGroups"]] == [group]


@pytest.fixture
def client_of(stack: PlatformHandle) -> Iterator[Any]:
    """A Firestore client of the stack's emulator acting as `user` (their ID token), as the web
    client's SDK does: security rules and index enforcement apply."""
    opened: list[Any] = []

    def make(user: AuthUser) -> Any:
        client = firestore_client(stack.firestore_host, stack.project)
        metadata = client._rpc_metadata
        metadata[:] = [(k, v) for k, v in metadata if k.lower() != "authorization"]
        metadata.append(("authorization", f"Bearer {user.id_token}"))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def test_a_client_lists_its_own_groups_live_newest_first(
    stack: PlatformHandle, world: dict[str, Any], client_of: Any
) -> None:
    owner = world["owner"]
    query = (
        client_of(owner)
        .collection("task_groups")
        .where(filter=FieldFilter("userId", "==", owner.uid))
        .order_by("createdAt", direction=Query.DESCENDING)
    )
    assert [snapshot.id for snapshot in query.get()] == list(reversed(world["mine"]))
    # The listener's snapshots: what matters here is that the query is served and kept live
    # (ordering is the SDK's business, checked above with the same query).
    seen: queue.Queue[set[str]] = queue.Queue()
    watch = query.on_snapshot(lambda docs, changes, read_time: seen.put({d.id for d in docs}))
    try:
        assert seen.get(timeout=30) == set(world["mine"])
        newest = create_group(stack, owner, "arrives live")
        ids = seen.get(timeout=30)
        while newest not in ids:
            ids = seen.get(timeout=30)
        assert ids == {newest, *world["mine"]}
    finally:
        watch.unsubscribe()
    assert [snapshot.id for snapshot in query.get()] == [newest, *reversed(world["mine"])]
    world["mine"].append(newest)
