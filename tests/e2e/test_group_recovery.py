"""Recovering a failed group over HTTP: retrying a failed task (or the whole group) revives
exactly the dependents its failure cancelled — not a task the user cancelled — and the group's
status and progress follow, to completion once the cause is fixed. Every trigger and Pub/Sub
message is delivered twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_tasks_api import wait_status
from tests.firestore_emulator.waiting import wait_until
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
FAILING = {"steps": 1, "latency": 1.0, "fail_permanent": True}
QUICK = {"steps": 1}


@pytest.fixture
def twice(platform: PlatformHandle) -> Iterator[PlatformHandle]:
    with platform.duplicate_delivery():
        yield platform
    platform.wait_idle()


def create_group(
    stack: PlatformHandle, user: AuthUser, specs: list[tuple[str, list[str], dict[str, Any]]]
) -> tuple[str, dict[str, str]]:
    body = {
        "name": "Recoverable",
        "tasks": [
            {
                "ref": ref,
                "title": f"Part {ref}",
                "description": f"Do part {ref} of the work.",
                "dependencies": dependencies,
                "agentId": "coder",
                "inputs": {"providerOptions": options},
            }
            for ref, dependencies, options in specs
        ],
    }
    response = stack.http.post(
        stack.url("task_groups", "/"), json=body, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    group = response.json()["data"]["taskGroup"]
    return group["id"], {task["ref"]: task["id"] for task in group["tasks"]}


def group_of(stack: PlatformHandle, user: AuthUser, group_id: str) -> dict[str, Any]:
    response = stack.http.get(
        stack.url("task_groups", f"/{group_id}"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"]["taskGroup"])


def stored_group(stack: PlatformHandle, group_id: str) -> dict[str, Any]:
    return stack.db.collection("task_groups").document(group_id).get().to_dict() or {}


def wait_group(stack: PlatformHandle, group_id: str, status: str) -> dict[str, Any]:
    found = wait_until(
        lambda: (group := stored_group(stack, group_id))["status"] == status and group, 90, 0.1
    )
    assert found, stored_group(stack, group_id)
    return dict(found)


def fix(stack: PlatformHandle, task_id: str) -> None:
    """The cause of the failure goes away (the provider stops refusing)."""
    stack.db.collection("tasks").document(task_id).update(
        {"inputs": {"providerOptions": QUICK}}
    )


def test_retrying_a_failed_task_revives_what_its_failure_cancelled(twice: PlatformHandle) -> None:
    stack = twice
    user = stack.create_user()
    group_id, ids = create_group(
        stack,
        user,
        [
            ("a", [], FAILING),
            ("b", ["a"], QUICK),
            ("c", ["b"], QUICK),
            ("x", ["a"], QUICK),
            ("d", [], QUICK),
        ],
    )
    cancelled = stack.http.post(
        stack.url("tasks", f"/{ids['x']}/cancel"), headers=user.headers, timeout=TIMEOUT
    )
    assert cancelled.status_code == 200, cancelled.text
    wait_status(stack, ids["a"], {"failed"})
    for ref in ("b", "c"):
        assert wait_status(stack, ids[ref], {"cancelled"}).cancelled_by_failure_of == ids["a"]
    wait_status(stack, ids["d"], {"completed"})
    failed_group = wait_group(stack, group_id, "failed")
    assert failed_group["counts"]["cancelled"] == 3

    fix(stack, ids["a"])
    retried = stack.http.post(
        stack.url("tasks", f"/{ids['a']}/retry"), headers=user.headers, timeout=TIMEOUT
    )
    assert retried.status_code == 200, retried.text
    group = group_of(stack, user, group_id)
    assert group["status"] == "running", group
    assert group["counts"]["cancelled"] == 1 and group["counts"]["failed"] == 0
    assert group["progress"] < failed_group["progress"] or group["progress"] < 1
    assert "completedAt" not in group or group["completedAt"] is None
    x = wait_status(stack, ids["x"], {"cancelled"})
    assert x.cancelled_by_failure_of is None

    for ref in ("a", "b", "c"):
        assert wait_status(stack, ids[ref], {"completed", "failed", "cancelled"}).status.value == (
            "completed"
        )
    # The user's cancellation stands: the group ends cancelled, everything else completed.
    finished = wait_group(stack, group_id, "cancelled")
    assert finished["counts"]["completed"] == 4 and finished["counts"]["cancelled"] == 1
    assert wait_status(stack, ids["x"], {"cancelled"}).status.value == "cancelled"


def test_retrying_a_group_retries_its_failed_tasks_and_completes(twice: PlatformHandle) -> None:
    stack = twice
    user = stack.create_user()
    group_id, ids = create_group(
        stack, user, [("a", [], FAILING), ("b", ["a"], QUICK), ("c", [], QUICK)]
    )
    wait_status(stack, ids["b"], {"cancelled"})
    wait_group(stack, group_id, "failed")
    fix(stack, ids["a"])

    response = stack.http.post(
        stack.url("task_groups", f"/{group_id}/retry"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    group = response.json()["data"]["taskGroup"]
    assert group["status"] == "running" and group["counts"]["failed"] == 0

    finished = wait_group(stack, group_id, "completed")
    assert finished["progress"] == 1.0 and finished["counts"]["completed"] == 3
    again = stack.http.post(
        stack.url("task_groups", f"/{group_id}/retry"), headers=user.headers, timeout=TIMEOUT
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
