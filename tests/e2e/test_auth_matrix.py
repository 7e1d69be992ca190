"""Authorization matrix over HTTP with real Auth-emulator tokens.

Every endpoint of agents, users, api_keys and projects, crossed with the caller:
* no credentials, a bad token → 401;
* an inactive account → 403 "Account inactive";
* a role below the endpoint's (user < developer < admin) → 403 "Insufficient permissions";
  where the endpoint needs only `user`, the cell checks that a plain user IS admitted;
* another tenant (a developer who owns nothing here) → 404 on resource-scoped endpoints, and the
  resource is unchanged.
Cells that do not apply (the other-tenant cell of endpoints on shared or own-account data) are
not generated; the table below says so with None.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


@dataclasses.dataclass(frozen=True)
class World:
    owner: AuthUser  # developer who owns the project and the API key
    other: AuthUser  # developer, another tenant
    inactive: AuthUser  # admin whose account is inactive
    low: AuthUser  # plain user
    admin: AuthUser
    project_id: str
    key_id: str


def provision(stack: PlatformHandle, user: AuthUser, **fields: Any) -> None:
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    if fields:
        stack.db.collection("users").document(user.uid).update(fields)


@pytest.fixture(scope="module")
def world(stack: PlatformHandle) -> World:
    owner, other, inactive, low, admin = (stack.create_user() for _ in range(5))
    provision(stack, owner, role="developer")
    provision(stack, other, role="developer")
    provision(stack, inactive, role="admin", status="inactive")
    provision(stack, low)
    provision(stack, admin, role="admin")
    project = stack.http.post(
        stack.url("projects", "/"),
        json={"name": "Owner's project", "visibility": "team"},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert project.status_code == 201, project.text
    key = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "owner key", "scopes": ["*"]},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert key.status_code == 201, key.text
    return World(
        owner=owner,
        other=other,
        inactive=inactive,
        low=low,
        admin=admin,
        project_id=project.json()["data"]["project"]["id"],
        key_id=key.json()["data"]["apiKey"]["id"],
    )


@dataclasses.dataclass(frozen=True)
class Endpoint:
    function: str
    method: str
    path: str  # {project}, {key}, {owner} are filled in from the world
    body: Callable[[World], Any] | None
    low_role: int  # status for a plain `user`
    other_tenant: int | None  # None: not tenant-scoped


def _agent_task(world: World) -> Any:
    return {"task": {"description": "Matrix task description", "priority": "low"}}


ENDPOINTS: list[Endpoint] = [
    Endpoint("agents", "GET", "/", None, 200, None),
    Endpoint("agents", "GET", "/coder", None, 200, None),
    Endpoint("agents", "POST", "/", _agent_task, 200, None),
    Endpoint("users", "GET", "/me", None, 200, None),
    Endpoint("users", "PATCH", "/me", lambda w: {"displayName": "Someone"}, 200, None),
    Endpoint("users", "GET", "/{owner}", None, 403, None),
    Endpoint("users", "PATCH", "/{owner}", lambda w: {"role": "developer"}, 403, None),
    Endpoint("api_keys", "POST", "/", lambda w: {"name": "k", "scopes": ["*"]}, 403, None),
    # Any role lists and revokes its own keys (a demoted developer keeps that right).
    Endpoint("api_keys", "GET", "/", None, 200, None),
    Endpoint("api_keys", "GET", "/{key}", None, 404, 404),
    Endpoint("api_keys", "DELETE", "/{key}", None, 404, 404),
    Endpoint("projects", "POST", "/", lambda w: {"name": "Low project"}, 201, None),
    Endpoint("projects", "GET", "/", None, 200, None),
    Endpoint("projects", "GET", "/{project}", None, 404, 404),
    Endpoint("projects", "PATCH", "/{project}", lambda w: {"name": "Renamed"}, 404, 404),
    Endpoint("projects", "DELETE", "/{project}", None, 404, 404),
    Endpoint(
        "projects", "POST", "/{project}/members", lambda w: {"uid": w.other.uid}, 404, 404
    ),
    Endpoint("projects", "DELETE", "/{project}/members/{owner}", None, 404, 404),
]


def _id(endpoint: Endpoint) -> str:
    return f"{endpoint.method} /{endpoint.function}{endpoint.path}"


def call(
    stack: PlatformHandle, world: World, endpoint: Endpoint, headers: dict[str, str]
) -> Any:
    path = endpoint.path.format(project=world.project_id, key=world.key_id, owner=world.owner.uid)
    kwargs: dict[str, Any] = {"headers": headers, "timeout": TIMEOUT}
    if endpoint.body is not None:
        kwargs["json"] = endpoint.body(world)
    return stack.http.request(endpoint.method, stack.url(endpoint.function, path), **kwargs)


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    if message is not None:
        assert body["error"]["message"] == message


def _owner_state(stack: PlatformHandle, world: World) -> tuple[Any, Any]:
    project = stack.db.collection("projects").document(world.project_id).get().to_dict()
    key = stack.db.collection("api_keys").document(world.key_id).get().to_dict()
    return project, key


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_no_credentials(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    assert_error(call(stack, world, endpoint, {}), 401, "unauthenticated", "Unauthorized")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "aide_0123456789abcdef_not-a-real-secret"},
    ],
    ids=["garbage", "forged-unsigned", "basic", "unknown-api-key"],
)
def test_bad_credentials(
    stack: PlatformHandle, world: World, endpoint: Endpoint, headers: dict[str, str]
) -> None:
    assert_error(call(stack, world, endpoint, headers), 401, "unauthenticated")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_inactive_account(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    before = _owner_state(stack, world)
    response = call(stack, world, endpoint, world.inactive.headers)
    assert_error(response, 403, "account_inactive", "Account inactive")
    assert _owner_state(stack, world) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_low_role(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    before = _owner_state(stack, world)
    response = call(stack, world, endpoint, world.low.headers)
    if endpoint.low_role == 403:
        assert_error(response, 403, "permission_denied", "Insufficient permissions")
    elif endpoint.low_role == 404:
        # The endpoint admits users, but this resource is not theirs.
        assert_error(response, 404, "not_found")
    else:
        assert response.status_code == endpoint.low_role, response.text
        assert response.json()["success"] is True
    assert _owner_state(stack, world) == before


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.other_tenant is not None], ids=_id
)
def test_other_tenant(stack: PlatformHandle, world: World, endpoint: Endpoint) -> None:
    before = _owner_state(stack, world)
    response = call(stack, world, endpoint, world.other.headers)
    assert_error(response, 404, "not_found")
    assert _owner_state(stack, world) == before


def test_admin_endpoints_admit_admins(stack: PlatformHandle, world: World) -> None:
    response = stack.http.get(
        stack.url("users", f"/{world.owner.uid}"), headers=world.admin.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user"]["uid"] == world.owner.uid


def test_the_owner_is_admitted_everywhere_it_owns(stack: PlatformHandle, world: World) -> None:
    for path in (f"/{world.project_id}",):
        response = stack.http.get(
            stack.url("projects", path), headers=world.owner.headers, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
    response = stack.http.get(
        stack.url("api_keys", f"/{world.key_id}"), headers=world.owner.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text


def _openapi_path(endpoint: Endpoint) -> str:
    names = {
        "{project}": "{projectId}", "{key}": "{keyId}", "{owner}": "{uid}", "coder": "{agentId}"
    }
    path = endpoint.path
    for local, documented in names.items():
        path = path.replace(local, documented)
    return f"/{endpoint.function}{path.rstrip('/')}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_every_matrix_status_is_documented(endpoint: Endpoint) -> None:
    from aide.contracts.openapi import build_openapi

    operation = build_openapi()["paths"][_openapi_path(endpoint)][endpoint.method.lower()]
    documented = set(operation["responses"])
    expected = {"401", "403", str(endpoint.low_role)}
    if endpoint.other_tenant is not None:
        expected.add(str(endpoint.other_tenant))
    assert expected <= documented, (expected - documented, sorted(documented))
    assert operation["security"]
