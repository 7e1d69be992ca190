"""Every service that changes an audited document stamps who did it, so each audited action on
tasks, task groups, projects and API keys is recorded exactly once — with every
Firestore trigger and Pub/Sub push delivered twice — naming the right actor (the user's uid, the
API key's id, or the runtime as `system:agent_runtime`) with the request id, IP and user agent
of the request that made it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_audit import provision, wait_for_actions
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
CLIENT_IP = "203.0.113.7"
RUNTIME = "system:agent_runtime"


@pytest.fixture
def twice(platform: PlatformHandle) -> Iterator[PlatformHandle]:
    with platform.duplicate_delivery():
        yield platform
    platform.wait_idle()


def context(headers: dict[str, str], request_id: str, agent: str) -> dict[str, str]:
    return {
        **headers,
        "X-Request-Id": request_id,
        "User-Agent": agent,
        "X-Forwarded-For": CLIENT_IP,
    }


def issue_key(stack: PlatformHandle, user: AuthUser, scopes: list[str]) -> tuple[str, str]:
    """(key id, key) of a new API key of `user` (made a developer, who may hold keys)."""
    stack.db.collection("users").document(user.uid).update({"role": "developer"})
    issued = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "audit wiring", "scopes": scopes},
        headers=user.headers,
        timeout=TIMEOUT,
    )
    assert issued.status_code == 201, issued.text
    data = issued.json()["data"]
    return data["apiKey"]["id"], data["key"]


def wait_status(stack: PlatformHandle, collection: str, doc_id: str, statuses: set[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = stack.db.collection(collection).document(doc_id).get().to_dict() or {}
        if data.get("status") in statuses:
            return
        time.sleep(0.1)
    raise AssertionError(f"{collection}/{doc_id} never reached {statuses}")


def by_request(entries: list[dict[str, Any]]) -> dict[str | None, list[dict[str, Any]]]:
    grouped: dict[str | None, list[dict[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry.get("requestId"), []).append(entry)
    return grouped


def assert_request_actor(
    entry: dict[str, Any], actor_type: str, actor_id: str, request_id: str, agent: str
) -> None:
    assert (entry["actorType"], entry["actorId"]) == (actor_type, actor_id), entry
    assert entry["requestId"] == request_id, entry
    assert entry["userAgent"] == agent, entry
    assert entry["ip"] == CLIENT_IP, entry


def assert_runtime(entry: dict[str, Any]) -> None:
    assert (entry["actorType"], entry["actorId"]) == ("system", RUNTIME), entry
    assert entry.get("requestId") is None and entry.get("ip") is None, entry


def create_task(stack: PlatformHandle, headers: dict[str, str], options: dict[str, Any]) -> str:
    response = stack.http.post(
        stack.url("tasks", "/"),
        json={
            "title": "Audited task",
            "description": "Write a short plan for the release notes.",
            "agentId": "coder",
            "inputs": {"providerOptions": options},
        },
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["task"]["id"])


def test_task_created_transitioned_and_cancelled_name_their_actors(twice: PlatformHandle) -> None:
    stack = twice
    owner = stack.create_user()
    provision(stack, owner)
    key_id, key = issue_key(stack, owner, ["tasks:*"])

    # Created by the user, claimed and completed by the runtime.
    done = create_task(stack, context(owner.headers, "req-task-create", "cli/1"), {"steps": 1})
    wait_status(stack, "tasks", done, {"completed"})
    expected = Counter({"task.created": 1, "task.transitioned": 2})
    entries = wait_for_actions(stack, done, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    created = next(entry for entry in entries if entry["action"] == "task.created")
    assert_request_actor(created, "user", owner.uid, "req-task-create", "cli/1")
    assert created["after"]["status"] == "queued"
    moves = sorted(
        (entry["before"]["status"], entry["after"]["status"])
        for entry in entries
        if entry["action"] == "task.transitioned"
    )
    assert moves == [("in_progress", "completed"), ("queued", "in_progress")]
    for entry in entries:
        if entry["action"] == "task.transitioned":
            assert_runtime(entry)

    # Created through an API key, cancelled through it while it runs.
    key_headers = {"X-API-Key": key}
    running = create_task(
        stack,
        context(key_headers, "req-task-create-2", "bot/2"),
        {"steps": 8, "latency": 0.5},
    )
    wait_status(stack, "tasks", running, {"in_progress"})
    cancelled = stack.http.post(
        stack.url("tasks", f"/{running}/cancel"),
        headers=context(key_headers, "req-task-cancel", "bot/2"),
        timeout=TIMEOUT,
    )
    assert cancelled.status_code == 200, cancelled.text
    expected = Counter({"task.created": 1, "task.transitioned": 1, "task.cancelled": 1})
    entries = wait_for_actions(stack, running, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    grouped = by_request(entries)
    assert_request_actor(
        grouped["req-task-create-2"][0], "api_key", key_id, "req-task-create-2", "bot/2"
    )
    assert_request_actor(
        grouped["req-task-cancel"][0], "api_key", key_id, "req-task-cancel", "bot/2"
    )
    assert grouped["req-task-cancel"][0]["action"] == "task.cancelled"
    assert_runtime(grouped[None][0])


def test_group_created_and_cancelled_name_their_actors(twice: PlatformHandle) -> None:
    stack = twice
    owner = stack.create_user()
    provision(stack, owner)
    slow = {"agentId": "coder", "inputs": {"providerOptions": {"steps": 8, "latency": 0.5}}}
    body = {
        "name": "Audited group",
        "tasks": [
            {
                "ref": "a",
                "title": "Part A",
                "description": "First part of it.",
                "dependencies": [],
                **slow,
            },
            {
                "ref": "b",
                "title": "Part B",
                "description": "Second part of it.",
                "dependencies": ["a"],
                **slow,
            },
        ],
    }
    created = stack.http.post(
        stack.url("task_groups", "/"),
        json=body,
        headers=context(owner.headers, "req-group-create", "console/3"),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    group = created.json()["data"]["taskGroup"]
    first = next(task["id"] for task in group["tasks"] if task["ref"] == "a")
    wait_status(stack, "tasks", first, {"in_progress"})
    cancelled = stack.http.post(
        stack.url("task_groups", f"/{group['id']}/cancel"),
        headers=context(owner.headers, "req-group-cancel", "console/3"),
        timeout=TIMEOUT,
    )
    assert cancelled.status_code == 200, cancelled.text

    # Created running (one task queued at once); the claim keeps it running: two entries.
    expected = Counter({"task_group.created": 1, "task_group.cancelled": 1})
    entries = wait_for_actions(stack, group["id"], expected)
    actions = Counter(entry["action"] for entry in entries)
    assert actions == expected, entries
    grouped = by_request(entries)
    (group_created,) = grouped["req-group-create"]
    assert group_created["action"] == "task_group.created"
    assert_request_actor(group_created, "user", owner.uid, "req-group-create", "console/3")
    (group_cancelled,) = grouped["req-group-cancel"]
    assert group_cancelled["action"] == "task_group.cancelled"
    assert_request_actor(group_cancelled, "user", owner.uid, "req-group-cancel", "console/3")

    # The member tasks: created by the group's request, cancelled by the cancel request; the
    # first was claimed by the runtime in between.
    for member in group["tasks"]:
        task_expected = Counter({"task.created": 1, "task.cancelled": 1})
        if member["id"] == first:
            task_expected["task.transitioned"] = 1
        task_entries = wait_for_actions(stack, member["id"], task_expected)
        counted = Counter(entry["action"] for entry in task_entries)
        assert counted == task_expected, task_entries
        for entry in task_entries:
            if entry["action"] == "task.created":
                assert_request_actor(entry, "user", owner.uid, "req-group-create", "console/3")
            elif entry["action"] == "task.cancelled":
                assert_request_actor(entry, "user", owner.uid, "req-group-cancel", "console/3")
            else:
                assert_runtime(entry)


def test_project_and_api_key_changes_name_their_actors(twice: PlatformHandle) -> None:
    stack = twice
    owner = stack.create_user()
    provision(stack, owner)
    key_id, key = issue_key(stack, owner, ["projects:*"])

    created = stack.http.post(
        stack.url("projects", "/"),
        json={"name": "Audited"},
        headers=context({"X-API-Key": key}, "req-project-create", "bot/2"),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    project_id = created.json()["data"]["project"]["id"]
    changed = stack.http.patch(
        stack.url("projects", f"/{project_id}"),
        json={"description": "now described"},
        headers=context(owner.headers, "req-project-change", "console/3"),
        timeout=TIMEOUT,
    )
    assert changed.status_code == 200, changed.text
    deleted = stack.http.delete(
        stack.url("projects", f"/{project_id}"),
        headers=context(owner.headers, "req-project-delete", "console/3"),
        timeout=TIMEOUT,
    )
    assert deleted.status_code == 200, deleted.text

    expected = Counter({"project.created": 1, "project.changed": 1, "project.deleted": 1})
    entries = wait_for_actions(stack, project_id, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    by_action = {entry["action"]: entry for entry in entries}
    assert_request_actor(
        by_action["project.created"], "api_key", key_id, "req-project-create", "bot/2"
    )
    assert_request_actor(
        by_action["project.changed"], "user", owner.uid, "req-project-change", "console/3"
    )
    assert_request_actor(
        by_action["project.deleted"], "user", owner.uid, "req-project-delete", "console/3"
    )
    assert by_action["project.deleted"]["before"]["name"] == "Audited"
    assert "after" not in by_action["project.deleted"]

    # API keys: only their owner manages them, and the trail says which request did.
    issued = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "second key", "scopes": ["agents:read"]},
        headers=context(owner.headers, "req-key-create", "console/3"),
        timeout=TIMEOUT,
    )
    assert issued.status_code == 201, issued.text
    second = issued.json()["data"]["apiKey"]["id"]
    revoked = stack.http.delete(
        stack.url("api_keys", f"/{second}"),
        headers=context(owner.headers, "req-key-revoke", "console/3"),
        timeout=TIMEOUT,
    )
    assert revoked.status_code in (200, 204), revoked.text
    expected = Counter({"api_key.created": 1, "api_key.revoked": 1})
    entries = wait_for_actions(stack, second, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    by_action = {entry["action"]: entry for entry in entries}
    assert_request_actor(
        by_action["api_key.created"], "user", owner.uid, "req-key-create", "console/3"
    )
    assert_request_actor(
        by_action["api_key.revoked"], "user", owner.uid, "req-key-revoke", "console/3"
    )


def test_audited_ip_is_the_one_the_front_end_appended_not_a_spoofed_one(
    platform: PlatformHandle,
) -> None:
    """A client that sends its own X-Forwarded-For entries cannot choose the recorded IP: the
    audit names the right end of the header (the address Google's front end appends)."""
    stack = platform
    owner = stack.create_user()
    provision(stack, owner)
    headers = {**owner.headers, "X-Forwarded-For": f"6.6.6.6, {CLIENT_IP}"}
    created = stack.http.post(
        stack.url("projects", "/"), json={"name": "Spoofed"}, headers=headers, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    project_id = created.json()["data"]["project"]["id"]
    (entry,) = wait_for_actions(stack, project_id, Counter({"project.created": 1}))
    assert entry["ip"] == CLIENT_IP, entry
