"""The task_groups function over HTTP on the local stack, with real Auth-emulator tokens: a
3-level group completing in dependency order, validation naming the refs, cancellation,
idempotent create and tenancy.

The agent runtime runs every dispatched task with the scripted provider: the group is left to
run and its order is read from the tasks' timestamps and events; a group that must still be
unfinished when it is cancelled starts with a slow task (the `latency` knob)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

import pytest
import requests

from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.tasks import Task
from tests.firestore_emulator.waiting import wait_until
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
RUN_TIMEOUT = 90  # a whole (short) scripted run on a loaded 2-core machine
POLL_S = 0.1
# A run that cannot finish during a test; the runtime aborts it as soon as it is cancelled.
SLOW = {"steps": 1, "latency": 300}


def spec(ref: str, *deps: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A group member; with `options` it runs on the scripted coder agent shaped by them."""
    member: dict[str, Any] = {
        "ref": ref,
        "title": f"Step {ref}",
        "description": f"Work item {ref}, described.",
        "dependencies": list(deps),
    }
    if options is not None:
        member |= {"agentId": "coder", "inputs": {"providerOptions": options}}
    return member


def create_group(
    stack: PlatformHandle, user: AuthUser, body: dict[str, Any], key: str | None = None
) -> requests.Response:
    headers = dict(user.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return stack.http.post(
        stack.url("task_groups", "/"), json=body, headers=headers, timeout=TIMEOUT
    )


def get_group(stack: PlatformHandle, user: AuthUser, group_id: str) -> requests.Response:
    return stack.http.get(
        stack.url("task_groups", f"/{group_id}"), headers=user.headers, timeout=TIMEOUT
    )


def task_status(stack: PlatformHandle, user: AuthUser, task_id: str) -> str:
    response = stack.http.get(
        stack.url("tasks", f"/{task_id}"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["task"]["status"])


def load(stack: PlatformHandle, task_id: str) -> Task:
    task = TaskRepository(stack.db).get(task_id)
    assert task is not None, task_id
    return task


def event_times(stack: PlatformHandle, task_id: str) -> dict[str, datetime]:
    """When each lifecycle event of the task's events stream happened (the first of each kind)."""
    found: dict[str, datetime] = {}
    for event in TaskRepository(stack.db).list_events(task_id, limit=500):
        found.setdefault(str(event.kind), event.timestamp)
    return found


def test_three_level_group_completes_in_dependency_order(stack: PlatformHandle) -> None:
    user = stack.create_user()
    # Each level takes a while, so the group rests at every level's progress long enough for a
    # listener to see it.
    level = {"steps": 2, "latency": 0.4}
    response = create_group(
        stack,
        user,
        {
            "name": "Release",
            "tasks": [
                spec("plan", options=level),
                spec("code", "plan", options=level),
                spec("docs", "plan", options=level),
                spec("ship", "code", "docs", options=level),
            ],
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()["data"]["taskGroup"]
    assert {"id", "status", "progress", "tasks"} <= group.keys()
    assert [member["ref"] for member in group["tasks"]] == ["plan", "code", "docs", "ship"]
    ids = {member["ref"]: member["id"] for member in group["tasks"]}
    assert group["status"] == "running" and group["progress"] == 0

    snapshots: list[dict[str, Any]] = []
    lock = threading.Lock()

    def on_group(docs: list[Any], _changes: Any, _read_time: Any) -> None:
        with lock:
            snapshots.extend(doc.to_dict() or {} for doc in docs if doc.exists)

    group_ref = TaskGroupRepository(stack.db).ref(group["id"])
    watch = group_ref.on_snapshot(on_group)
    try:
        # Polled in Firestore, not over HTTP (which would spend the user's call quota).
        wait_until(
            lambda: (group_ref.get().to_dict() or {}).get("status") != "running",
            RUN_TIMEOUT,
            POLL_S,
        )
        wait_until(lambda: snapshots and snapshots[-1].get("status") != "running", 30, POLL_S)
    finally:
        watch.unsubscribe()

    final = get_group(stack, user, group["id"]).json()["data"]["taskGroup"]
    assert final["status"] == "completed" and final["counts"]["completed"] == 4
    assert final["progress"] == 1
    tasks = {ref: load(stack, task_id) for ref, task_id in ids.items()}
    assert all(t.status.value == "completed" and t.attempts == 1 for t in tasks.values())
    times = {ref: event_times(stack, task_id) for ref, task_id in ids.items()}
    for ref, dependencies in {"code": ["plan"], "docs": ["plan"], "ship": ["code", "docs"]}.items():
        for dependency in dependencies:
            # Dispatched (queued) and started only after each dependency had completed.
            assert tasks[dependency].completed_at <= tasks[ref].started_at  # type: ignore[operator]
            assert times[dependency]["completed"] <= times[ref]["queued"] <= times[ref]["started"]

    # The group's progress followed its tasks: it is always the share of completed tasks, never
    # went back, and rested at each level (plan alone done; code and docs done; all done).
    progress = [snapshot["progress"] for snapshot in snapshots]
    for snapshot in snapshots:
        assert snapshot["progress"] == snapshot["counts"]["completed"] / len(ids), snapshot
    assert progress == sorted(progress)
    assert {0.25, 0.75, 1.0} <= set(progress), progress


@pytest.mark.parametrize(
    ("tasks", "code", "needle"),
    [
        ([spec("a"), spec("b", "ghost")], "UNKNOWN_REF", "ghost"),
        ([spec("a"), spec("a")], "DUPLICATE_REF", "'a'"),
        ([spec("a", "a")], "SELF_DEPENDENCY", "'a'"),
        ([spec("a", "b"), spec("b", "c"), spec("c", "a")], "DEPENDENCY_CYCLE", "a -> b -> c -> a"),
    ],
)
def test_bad_graphs_are_400_naming_the_refs(
    stack: PlatformHandle, tasks: list[dict[str, Any]], code: str, needle: str
) -> None:
    user = stack.create_user()
    response = create_group(stack, user, {"tasks": tasks})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["code"] == code and needle in error["message"]
    listed = stack.http.get(stack.url("tasks", "/"), headers=user.headers, timeout=TIMEOUT)
    assert listed.json()["data"]["tasks"] == []


def test_body_validation(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert create_group(stack, user, {"tasks": []}).status_code == 400
    too_many = {"tasks": [spec(f"t{i}") for i in range(1001)]}
    assert create_group(stack, user, too_many).status_code == 400
    assert create_group(stack, user, {"tasks": [{**spec("a"), "extra": 1}]}).status_code == 400


def test_cancel_group_and_tenancy(stack: PlatformHandle) -> None:
    owner, intruder = stack.create_user(), stack.create_user()
    # `a` is slow, so the group is still unfinished when it is cancelled.
    group = create_group(stack, owner, {"tasks": [spec("a", options=SLOW), spec("b", "a")]}).json()[
        "data"
    ]["taskGroup"]
    assert get_group(stack, intruder, group["id"]).status_code == 404
    refused = stack.http.post(
        stack.url("task_groups", f"/{group['id']}/cancel"),
        headers=intruder.headers,
        timeout=TIMEOUT,
    )
    assert refused.status_code == 404
    cancelled = stack.http.post(
        stack.url("task_groups", f"/{group['id']}/cancel"),
        json={"reason": "scope changed"},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert cancelled.status_code == 200, cancelled.text
    data = cancelled.json()["data"]["taskGroup"]
    assert data["status"] == "cancelled" and data["counts"]["cancelled"] == 2
    for member in group["tasks"]:
        assert task_status(stack, owner, member["id"]) == "cancelled"
    assert (
        stack.http.get(stack.url("task_groups", f"/{group['id']}"), timeout=TIMEOUT).status_code
        == 401
    )


def test_idempotent_group_create(stack: PlatformHandle) -> None:
    user = stack.create_user()
    key = uuid.uuid4().hex
    body = {"tasks": [spec("a"), spec("b", "a")]}
    first = create_group(stack, user, body, key)
    again = create_group(stack, user, body, key)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"] == first.json()["data"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert create_group(stack, user, {"tasks": [spec("a")]}, key).status_code == 409
    listed = stack.http.get(stack.url("tasks", "/"), headers=user.headers, timeout=TIMEOUT)
    assert len(listed.json()["data"]["tasks"]) == 2
