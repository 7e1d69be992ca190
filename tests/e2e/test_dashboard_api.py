"""The dashboard function over HTTP with real Auth-emulator tokens: GET /dashboard agrees with
what the task API lists, and GET /dashboard/events streams task, agent and stats updates live
from Firestore listeners, ends after its window, and resumes with Last-Event-ID without loss."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle
from tests.support.sse import EventReader

TIMEOUT = 60
DESCRIPTION = "A description that is long enough."
SLOW = {"steps": 1, "latency": 300}


def create_task(stack: PlatformHandle, user: AuthUser, **fields: Any) -> dict[str, Any]:
    body = {"title": "Dashboard task", "description": DESCRIPTION, **fields}
    response = stack.http.post(stack.url("tasks"), json=body, headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"]["task"])


def slow(stack: PlatformHandle, user: AuthUser, title: str = "Slow") -> dict[str, Any]:
    return create_task(stack, user, title=title, agentId="coder", inputs={"providerOptions": SLOW})


def cancel(stack: PlatformHandle, user: AuthUser, task_id: str) -> None:
    response = stack.http.post(
        stack.url("tasks", f"/{task_id}/cancel"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text


def wait_until_status(stack: PlatformHandle, user: AuthUser, task_id: str, status: str) -> None:
    from tests.firestore_emulator.waiting import wait_until

    def reached() -> bool:
        response = stack.http.get(
            stack.url("tasks", f"/{task_id}"), headers=user.headers, timeout=TIMEOUT
        )
        return bool(response.json()["data"]["task"]["status"] == status)

    wait_until(reached, timeout=90)


def open_stream(
    stack: PlatformHandle, user: AuthUser, *, last_event_id: str | None = None, window: int = 30
) -> EventReader:
    headers = dict(user.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    response = requests.get(
        stack.url("dashboard", "/events"),
        headers=headers,
        params={"window": window},
        stream=True,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return EventReader(response)


def test_dashboard_numbers_equal_what_the_api_lists(platform: PlatformHandle) -> None:
    user = platform.create_user()
    running = slow(platform, user, "Running")
    waiting = create_task(platform, user, title="Waiting", dependencies=[running["id"]])
    cancelled = slow(platform, user, "Cancelled")
    cancel(platform, user, cancelled["id"])
    wait_until_status(platform, user, running["id"], "in_progress")
    project = platform.http.post(
        platform.url("projects"), json={"name": "Dash"}, headers=user.headers, timeout=TIMEOUT
    ).json()["data"]["project"]

    response = platform.http.get(platform.url("dashboard"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    listed = platform.http.get(
        platform.url("tasks"), headers=user.headers, params={"limit": 100}, timeout=TIMEOUT
    ).json()["data"]["tasks"]
    by_status = Counter(task["status"] for task in listed)
    stats = data["stats"]
    assert {k: v for k, v in stats["byStatus"].items() if v} == dict(by_status)
    assert stats["total"] == len(listed) == 3
    assert dict(by_status) == {"in_progress": 1, "pending": 1, "cancelled": 1}
    assert stats["active"] == 1
    assert stats["completedToday"] == 0 and stats.get("successRateToday") is None
    assert [t["id"] for t in data["recentTasks"]] == [t["id"] for t in listed]
    assert [p["id"] for p in data["recentProjects"]] == [project["id"]]
    assert data["usage"]["usage"]["apiCalls"]["used"] >= 1
    assert {a["status"] for a in data["activeAgents"]} <= {"busy"}
    assert waiting["status"] == "pending"


def test_events_stream_live_task_and_stats_updates(platform: PlatformHandle) -> None:
    user = platform.create_user()
    reader = open_stream(platform, user, window=30)
    try:
        task = slow(platform, user, "Streamed")
        created, _ = reader.until(
            lambda e: e.event == "task-update" and e.json()["id"] == task["id"]
        )
        assert created.id is not None
        stats, _ = reader.until(lambda e: e.event == "stats-update")
        assert stats.json()["total"] == 1
        cancel(platform, user, task["id"])
        cancelled, _ = reader.until(
            lambda e: e.event == "task-update" and e.json()["status"] == "cancelled"
        )
        assert cancelled.json()["id"] == task["id"]
    finally:
        reader.close()
    # Another user's stream sees none of it.
    stranger = platform.create_user()
    other = open_stream(platform, stranger, window=3)
    try:
        assert all(e.event != "task-update" for e in iter(lambda: other.next(10), None))
    finally:
        other.close()


def test_stream_ends_after_its_window_and_resumes_without_loss(platform: PlatformHandle) -> None:
    user = platform.create_user()
    reader = open_stream(platform, user, window=4)
    first = slow(platform, user, "Before the end")
    event, _ = reader.until(lambda e: e.event == "task-update" and e.json()["id"] == first["id"])
    last_id = event.id
    assert last_id is not None
    # The window ends: the server closes the stream cleanly.
    rest = list(iter(lambda: reader.next(20), None))
    assert all(e.event in ("task-update", "stats-update", "agent-update") for e in rest)
    last_id = next((e.id for e in reversed(rest) if e.id), last_id)
    # Changes while disconnected.
    cancel(platform, user, first["id"])
    second = slow(platform, user, "While away")
    resumed = open_stream(platform, user, last_event_id=last_id, window=10)
    try:
        seen: dict[str, str] = {}
        while not (seen.get(first["id"]) == "cancelled" and second["id"] in seen):
            event = resumed.next(20)
            assert event is not None, seen
            if event.event == "task-update":
                seen[event.json()["id"]] = event.json()["status"]
    finally:
        resumed.close()


def test_bad_resume_point_and_credentials(stack: PlatformHandle) -> None:
    user = stack.create_user()
    bad = requests.get(
        stack.url("dashboard", "/events"),
        headers={**user.headers, "Last-Event-ID": "yesterday"},
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"
    too_long = requests.get(
        stack.url("dashboard", "/events"),
        headers=user.headers,
        params={"window": 3600},
        timeout=TIMEOUT,
    )
    assert too_long.status_code == 400
    anonymous = requests.get(stack.url("dashboard", "/events"), timeout=TIMEOUT)
    assert anonymous.status_code == 401
