"""Listing a task's events pages like every other list (`limit`, `cursor`, `nextCursor`, the
shared cursor contract), over HTTP with real Auth-emulator tokens: bad `limit` and `cursor` are
a field-level 400, pages are disjoint and complete in order. And HEAD on a GET route is 405 with
`Allow`, never a GET answered without its body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
import requests

from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.task_events import StreamEventKind, TaskEvent
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
DESCRIPTION: Final = "A description that is long enough."
EXTRA_EVENTS: Final = 23


def events_page(
    stack: PlatformHandle, user: AuthUser, task_id: str, **params: Any
) -> requests.Response:
    return stack.http.get(
        stack.url("tasks", f"/{task_id}/events"), params=params, headers=user.headers, timeout=60
    )


@pytest.fixture(scope="module")
def owner(stack: PlatformHandle) -> AuthUser:
    return stack.create_user()


@pytest.fixture(scope="module")
def task_id(stack: PlatformHandle, owner: AuthUser) -> str:
    """A task that is never dispatched (it waits for a dependency that never completes), with
    EXTRA_EVENTS log events after its own, some of them sharing a timestamp."""
    blocker = stack.http.post(
        stack.url("tasks", "/"),
        json={
            "title": "Blocker",
            "description": DESCRIPTION,
            "agentId": "coder",
            "inputs": {"providerOptions": {"steps": 1, "latency": 300}},
        },
        headers=owner.headers,
        timeout=TIMEOUT_S,
    )
    assert blocker.status_code == 201, blocker.text
    response = stack.http.post(
        stack.url("tasks", "/"),
        json={
            "title": "Paged",
            "description": DESCRIPTION,
            "dependencies": [blocker.json()["data"]["task"]["id"]],
        },
        headers=owner.headers,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    task = str(response.json()["data"]["task"]["id"])
    events = TaskRepository(stack.db).events(task)
    start = datetime.now(UTC) + timedelta(seconds=1)
    for index in range(EXTRA_EVENTS):
        event = TaskEvent(
            id=f"log-{index:02d}",
            task_id=task,
            kind=StreamEventKind.LOG,
            message=f"line {index}",
            timestamp=start + timedelta(milliseconds=index // 3),  # ties in threes
        )
        events.document(event.id).set(event.to_document())
    return task


def all_event_ids(stack: PlatformHandle, task_id: str) -> list[str]:
    return [event.id for event in TaskRepository(stack.db).list_events(task_id, limit=1000)]


def test_event_pages_are_disjoint_complete_and_in_order(
    stack: PlatformHandle, owner: AuthUser, task_id: str
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        response = events_page(stack, owner, task_id, **params)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data["events"]) <= 5
        seen += [event["id"] for event in data["events"]]
        pages += 1
        cursor = data.get("nextCursor")
        if not cursor:
            break
    expected = all_event_ids(stack, task_id)
    assert len(expected) >= EXTRA_EVENTS
    assert seen == expected
    assert pages == -(-len(expected) // 5)


def test_the_default_page_is_bounded_and_says_whether_more_follow(
    stack: PlatformHandle, owner: AuthUser, task_id: str
) -> None:
    response = events_page(stack, owner, task_id)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [event["id"] for event in data["events"]] == all_event_ids(stack, task_id)[:100]
    assert "nextCursor" not in data  # everything fit


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "zzz"}, "cursor"),
        ({"cursor": ""}, "cursor"),
    ],
)
def test_bad_limit_or_cursor_is_a_field_level_400(
    stack: PlatformHandle, owner: AuthUser, task_id: str, params: dict[str, str], field: str
) -> None:
    response = events_page(stack, owner, task_id, **params)
    assert response.status_code == 400, response.text
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


def test_a_cursor_from_another_tasks_events_is_refused(
    stack: PlatformHandle, owner: AuthUser, task_id: str
) -> None:
    other = stack.http.post(
        stack.url("tasks", "/"),
        json={"title": "Other", "description": DESCRIPTION, "dependencies": [task_id]},
        headers=owner.headers,
        timeout=TIMEOUT_S,
    )
    assert other.status_code == 201, other.text
    cursor = events_page(stack, owner, task_id, limit=1).json()["data"]["nextCursor"]
    response = events_page(stack, owner, other.json()["data"]["task"]["id"], cursor=cursor)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("function", "path"),
    [
        ("health", "/"),
        ("tasks", "/"),
        ("tasks", "/{task}"),
        ("tasks", "/{task}/events"),
        ("agents", "/"),
        ("users", "/me"),
    ],
)
def test_head_on_a_get_route_is_405_with_allow(
    stack: PlatformHandle, owner: AuthUser, task_id: str, function: str, path: str
) -> None:
    response = stack.http.head(
        stack.url(function, path.format(task=task_id)), headers=owner.headers, timeout=TIMEOUT_S
    )
    assert response.status_code == 405, (response.status_code, dict(response.headers))
    assert "GET" in response.headers["Allow"]
    assert "HEAD" not in response.headers["Allow"]
