"""Authorization matrix of the tasks and task_groups functions over HTTP, with real
Auth-emulator tokens. Every endpoint crossed with: no credentials and a bad token (401), an
inactive account (403 "Account inactive"), a plain `user` (admitted: these endpoints need no
higher role), another tenant (404 on resource-scoped endpoints, resource unchanged); and
API-key scopes.

The agent runtime runs every dispatched task, so the resources under test are kept still on
purpose: each user's task waits (`pending`) on a slow run of theirs, and each group's first task
is a slow run already in progress, so nothing but the calls under test changes them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.firestore_emulator.waiting import wait_until
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
RUN_TIMEOUT = 90
TASK = {"title": "Matrix task", "description": "A task for the authorization matrix."}
GROUP = {"tasks": [{**TASK, "ref": "a", "dependencies": []}]}
# One scripted step that takes longer than the module; aborted when the task is cancelled.
SLOW_INPUTS = {"providerOptions": {"steps": 1, "latency": 300}}
SLOW_TASK = {**TASK, "agentId": "coder", "inputs": SLOW_INPUTS}
# The group's first task runs slowly; the second waits for it.
STILL_GROUP = {
    "tasks": [
        {**SLOW_TASK, "ref": "a", "dependencies": []},
        {**TASK, "ref": "b", "dependencies": ["a"]},
    ]
}


@dataclasses.dataclass(frozen=True)
class World:
    owner: AuthUser
    other: AuthUser
    inactive: AuthUser
    low: AuthUser
    owner_task: str
    owner_group: str
    low_task: str
    low_group: str


def provision(stack: PlatformHandle, user: AuthUser, **fields: Any) -> None:
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    if fields:
        stack.db.collection("users").document(user.uid).update(fields)


def wait_status(stack: PlatformHandle, task_id: str, status: str) -> None:
    def reached() -> bool:
        snapshot = stack.db.collection("tasks").document(task_id).get()
        return (snapshot.to_dict() or {}).get("status") == status

    wait_until(reached, RUN_TIMEOUT, 0.1)


def make_task(stack: PlatformHandle, user: AuthUser, body: dict[str, Any]) -> str:
    response = stack.http.post(
        stack.url("tasks", "/"), json=body, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["task"]["id"])


def make_still_task(stack: PlatformHandle, user: AuthUser) -> tuple[str, str]:
    """(a slow running task, a task waiting on it): the second one stays `pending`."""
    slow = make_task(stack, user, SLOW_TASK)
    return slow, make_task(stack, user, {**TASK, "dependencies": [slow]})


def make_still_group(stack: PlatformHandle, user: AuthUser) -> str:
    response = stack.http.post(
        stack.url("task_groups", "/"), json=STILL_GROUP, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    group = response.json()["data"]["taskGroup"]
    # Once its first task is claimed the group document rests until that slow run ends.
    wait_status(stack, group["tasks"][0]["id"], "in_progress")
    return str(group["id"])


def cancel(stack: PlatformHandle, user: AuthUser, function: str, resource_id: str) -> None:
    stack.http.post(
        stack.url(function, f"/{resource_id}/cancel"),
        json={"reason": "matrix over"},
        headers=user.headers,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def world(stack: PlatformHandle) -> Iterator[World]:
    owner, other, inactive, low = (stack.create_user() for _ in range(4))
    provision(stack, owner, role="developer")
    provision(stack, other, role="developer")
    provision(stack, inactive, role="admin", status="inactive")
    provision(stack, low)
    owner_slow, owner_task = make_still_task(stack, owner)
    low_slow, low_task = make_still_task(stack, low)
    world = World(
        owner=owner,
        other=other,
        inactive=inactive,
        low=low,
        owner_task=owner_task,
        owner_group=make_still_group(stack, owner),
        low_task=low_task,
        low_group=make_still_group(stack, low),
    )
    for slow in (owner_slow, low_slow):
        wait_status(stack, slow, "in_progress")
    yield world
    # Stop the slow runs (cancelling the slow task cascades to the one waiting on it).
    for user, slow, group in (
        (owner, owner_slow, world.owner_group),
        (low, low_slow, world.low_group),
    ):
        cancel(stack, user, "tasks", slow)
        cancel(stack, user, "task_groups", group)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    function: str
    method: str
    path: str  # "{task}" / "{group}": the caller's own resource, or the owner's for a tenant
    body: Any = None

    @property
    def resource_scoped(self) -> bool:
        return "{" in self.path

    def url(self, stack: PlatformHandle, task_id: str, group_id: str) -> str:
        return stack.url(self.function, self.path.format(task=task_id, group=group_id))

    def call(
        self, stack: PlatformHandle, headers: dict[str, str], task_id: str, group_id: str
    ) -> requests.Response:
        return stack.http.request(
            self.method,
            self.url(stack, task_id, group_id),
            json=self.body,
            headers=headers,
            timeout=TIMEOUT,
        )


ENDPOINTS = [
    Endpoint("tasks", "POST", "/", TASK),
    Endpoint("tasks", "GET", "/"),
    Endpoint("tasks", "GET", "/{task}"),
    Endpoint("tasks", "GET", "/{task}/events"),
    Endpoint("tasks", "POST", "/{task}/cancel", {"reason": "matrix"}),
    Endpoint("tasks", "POST", "/{task}/retry"),
    Endpoint("task_groups", "POST", "/", GROUP),
    Endpoint("task_groups", "GET", "/{group}"),
    Endpoint("task_groups", "POST", "/{group}/cancel", {"reason": "matrix"}),
]
IDS = [f"{e.method} {e.function}{e.path}" for e in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_without_or_with_bad_credentials_is_401(
    stack: PlatformHandle, world: World, endpoint: Endpoint
) -> None:
    for headers in ({}, {"Authorization": "Bearer forged.token.value"}, {"X-API-Key": "aide_x"}):
        response = endpoint.call(stack, headers, world.owner_task, world.owner_group)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_inactive_account_is_403(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    response = endpoint.call(stack, world.inactive.headers, world.owner_task, world.owner_group)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"] == "Account inactive"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_plain_user_is_admitted(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    response = endpoint.call(stack, world.low.headers, world.low_task, world.low_group)
    # Retrying a task that did not fail is refused by the status machine, not by authorization.
    expected = (
        409
        if endpoint.path.endswith("/retry")
        else (201 if endpoint.path == "/" and endpoint.method == "POST" else 200)
    )
    assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    "endpoint",
    [e for e in ENDPOINTS if e.resource_scoped],
    ids=[i for e, i in zip(ENDPOINTS, IDS, strict=True) if e.resource_scoped],
)
def test_other_tenant_gets_404_and_changes_nothing(
    stack: PlatformHandle, world: World, endpoint: Endpoint
) -> None:
    def snapshot() -> tuple[Any, Any]:
        task = stack.db.collection("tasks").document(world.owner_task).get().to_dict()
        group = stack.db.collection("task_groups").document(world.owner_group).get().to_dict()
        return task, group

    before = snapshot()
    response = endpoint.call(stack, world.other.headers, world.owner_task, world.owner_group)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot() == before


def test_other_tenant_lists_nothing_of_the_owner(stack: PlatformHandle, world: World) -> None:
    response = stack.http.get(stack.url("tasks", "/"), headers=world.other.headers, timeout=TIMEOUT)
    assert response.status_code == 200
    assert world.owner_task not in {t["id"] for t in response.json()["data"]["tasks"]}


def test_api_key_scopes(stack: PlatformHandle, world: World) -> None:
    created = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "read tasks", "scopes": ["tasks:read"]},
        headers=world.owner.headers,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    key = created.json()["data"]["key"]
    headers = {"X-API-Key": key}
    listed = stack.http.get(stack.url("tasks", "/"), headers=headers, timeout=TIMEOUT)
    assert listed.status_code == 200, listed.text
    assert world.owner_task in {t["id"] for t in listed.json()["data"]["tasks"]}
    refused = stack.http.post(stack.url("tasks", "/"), json=TASK, headers=headers, timeout=TIMEOUT)
    assert refused.status_code == 403
    group = stack.http.get(
        stack.url("task_groups", f"/{world.owner_group}"), headers=headers, timeout=TIMEOUT
    )
    assert group.status_code == 403
