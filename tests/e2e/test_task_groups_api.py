"""The task_groups function over HTTP on the local stack, with real Auth-emulator tokens: a
3-level group completing in dependency order, validation naming the refs, cancellation,
idempotent create and tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from aide.services.task_execution import claim_task, complete_task

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


def spec(ref: str, *deps: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "title": f"Step {ref}",
        "description": f"Work item {ref}, described.",
        "dependencies": list(deps),
    }


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


def test_three_level_group_completes_in_dependency_order(stack: PlatformHandle) -> None:
    user = stack.create_user()
    response = create_group(
        stack,
        user,
        {
            "name": "Release",
            "tasks": [
                spec("plan"),
                spec("code", "plan"),
                spec("docs", "plan"),
                spec("ship", "code", "docs"),
            ],
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()["data"]["taskGroup"]
    assert {"id", "status", "progress", "tasks"} <= group.keys()
    assert [member["ref"] for member in group["tasks"]] == ["plan", "code", "docs", "ship"]
    ids = {member["ref"]: member["id"] for member in group["tasks"]}
    assert group["status"] == "running" and group["progress"] == 0

    order: list[str] = []
    while len(order) < len(ids):
        queued = [
            ref for ref, task_id in ids.items() if task_status(stack, user, task_id) == "queued"
        ]
        assert queued, "nothing became ready"
        for ref in queued:
            claim_task(stack.db, ids[ref])
            complete_task(stack.db, ids[ref])
        order += queued
        progress = get_group(stack, user, group["id"]).json()["data"]["taskGroup"]["progress"]
        assert progress == len(order) / len(ids)
    assert order == ["plan", "code", "docs", "ship"]
    final = get_group(stack, user, group["id"]).json()["data"]["taskGroup"]
    assert final["status"] == "completed" and final["counts"]["completed"] == 4


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
    group = create_group(stack, owner, {"tasks": [spec("a"), spec("b", "a")]}).json()["data"][
        "taskGroup"
    ]
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
