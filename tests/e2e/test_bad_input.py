"""Bad input that Firestore itself would refuse, over HTTP on the local stack: a clear 4xx in the
envelope, never a 500, and nothing written.

* Path ids Firestore cannot take as document ids (`__x__`, `.`, `..`, an id with '/') are 404
  `not_found` on every item route (aide.entrypoints.routing answers before any handler). They
  are sent raw with http.client: `requests` would resolve '.' and '..' and decode '%2E'.
* Free-form maps (task inputs, project settings, agent task inputs, group task inputs) with an
  empty key or an integer outside the signed 64-bit range are 400 `validation_failed` whose
  details name the exact field path (aide.domain.free_form).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlsplit

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
LARGE_ALLOWANCE: Final = 1_000_000
INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)

# As they travel on the wire; the functions see the decoded segment.
REFUSED_IDS: Final = {
    "reserved": "__x__",
    "reserved-encoded": "%5F%5Fname%5F%5F",
    "dot": "%2E",
    "dot-dot": "%2E%2E",
    "slash": "a%2Fb",
}
# (method, function, path with {} for the refused id); EXISTING_PROJECT stands for a real one.
EXISTING_PROJECT: Final = "<project>"
ITEM_OPERATIONS: Final = [
    ("GET", "agents", "/{}"),
    ("GET", "api_keys", "/{}"),
    ("DELETE", "api_keys", "/{}"),
    ("GET", "probes", "/{}"),
    ("GET", "projects", "/{}"),
    ("PATCH", "projects", "/{}"),
    ("DELETE", "projects", "/{}"),
    ("POST", "projects", "/{}/members"),
    ("DELETE", "projects", "/{}/members/someone"),
    ("DELETE", "projects", f"/{EXISTING_PROJECT}/members/{{}}"),
    ("GET", "users", "/{}"),
    ("PATCH", "users", "/{}"),
    ("GET", "tasks", "/{}"),
    ("GET", "tasks", "/{}/events"),
    ("POST", "tasks", "/{}/cancel"),
    ("POST", "tasks", "/{}/retry"),
    ("GET", "task_groups", "/{}"),
    ("POST", "task_groups", "/{}/cancel"),
]


@pytest.fixture(scope="module")
def admin(stack: PlatformHandle) -> AuthUser:
    """An admin (the highest role reaches every handler) with room for many calls."""
    user = stack.create_user()
    provisioned = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=60)
    assert provisioned.status_code == 200, provisioned.text
    stack.db.collection("users").document(user.uid).update(
        {
            "role": "admin",
            "quotas.apiCalls.limit": LARGE_ALLOWANCE,
            "quotas.apiCalls.burstLimit": LARGE_ALLOWANCE,
        }
    )
    return user


@pytest.fixture(scope="module")
def project_id(stack: PlatformHandle, admin: AuthUser) -> str:
    response = stack.http.post(
        stack.url("projects", "/"),
        json={"name": "bad input", "visibility": "team"},
        headers=admin.headers,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["project"]["id"])


@pytest.fixture
def raw(stack: PlatformHandle) -> Iterator[http.client.HTTPConnection]:
    base = urlsplit(stack.functions_base_url)
    connection = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=60)
    yield connection
    connection.close()


def send_raw(
    stack: PlatformHandle,
    connection: http.client.HTTPConnection,
    method: str,
    function: str,
    path: str,
    user: AuthUser,
) -> tuple[int, Any]:
    """The request line exactly as given: no client-side normalisation of the path."""
    body = b"{}" if method in ("POST", "PATCH") else None
    headers = {**user.headers, "Content-Type": "application/json"}
    connection.request(
        method, f"/{stack.project}/{stack.region}/{function}{path}", body=body, headers=headers
    )
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@pytest.mark.parametrize("refused", REFUSED_IDS.values(), ids=REFUSED_IDS.keys())
@pytest.mark.parametrize(
    ("method", "function", "template"),
    ITEM_OPERATIONS,
    ids=[f"{method} {function}{template}" for method, function, template in ITEM_OPERATIONS],
)
def test_ids_firestore_refuses_are_404(
    stack: PlatformHandle,
    admin: AuthUser,
    project_id: str,
    raw: http.client.HTTPConnection,
    method: str,
    function: str,
    template: str,
    refused: str,
) -> None:
    path = template.replace(EXISTING_PROJECT, project_id).format(refused)
    status, body = send_raw(stack, raw, method, function, path, admin)
    assert status == 404, body
    assert body["success"] is False
    assert body["error"]["code"] == "not_found"


def _post(stack: PlatformHandle, user: AuthUser, function: str, body: Any) -> Any:
    return stack.http.post(stack.url(function, "/"), json=body, headers=user.headers, timeout=60)


def _task(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"title": "abc", "description": "0123456789ab", "inputs": inputs}


def _group(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": [{"ref": "a", **_task(inputs)}]}


def _agent_task(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"task": {"description": "0123456789ab", "inputs": inputs}}


BIG: Final = 1180591620717411303424  # 2**70, the value schemathesis sent
FREE_FORM_CASES: Final = [
    ("tasks", _task({"": 1}), "inputs", "empty key"),
    ("task_groups", _group({"": 1}), "tasks.0.inputs", "empty key"),
    ("agents", _agent_task({"": 1}), "task.inputs", "empty key"),
    ("tasks", _task({"n": [1, BIG]}), "inputs.n.1", "signed 64-bit"),
    ("tasks", _task({"n": INT64_MIN - 1}), "inputs.n", "signed 64-bit"),
    ("task_groups", _group({"a": {"n": BIG}}), "tasks.0.inputs.a.n", "signed 64-bit"),
    ("agents", _agent_task({"n": -BIG}), "task.inputs.n", "signed 64-bit"),
    ("projects", {"name": "abc", "settings": {"n": BIG}}, "settings.n", "signed 64-bit"),
    ("tasks", _task({"a": {"__b__": 1}}), "inputs.a.__b__", "reserved"),
]


def _owned(stack: PlatformHandle, collection: str, user: AuthUser) -> list[Any]:
    query = stack.db.collection(collection).where(filter=FieldFilter("userId", "==", user.uid))
    return list(query.stream())


@pytest.mark.parametrize(
    ("function", "body", "field", "message"),
    FREE_FORM_CASES,
    ids=[f"{case[0]}-{case[2]}" for case in FREE_FORM_CASES],
)
def test_free_form_values_firestore_refuses_are_400_naming_the_field(
    stack: PlatformHandle, function: str, body: dict[str, Any], field: str, message: str
) -> None:
    user = stack.create_user()
    response = _post(stack, user, function, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [detail["field"] for detail in error["details"]] == [field]
    assert message in error["details"][0]["message"]
    assert _owned(stack, "tasks", user) == []
    assert _owned(stack, "projects", user) == []


def test_project_update_with_an_out_of_range_integer_is_400_and_changes_nothing(
    stack: PlatformHandle, admin: AuthUser, project_id: str
) -> None:
    url = stack.url("projects", f"/{project_id}")
    response = stack.http.patch(
        url, json={"settings": {"a": {"n": INT64_MAX + 1}}}, headers=admin.headers, timeout=60
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "settings.a.n"
    stored = stack.http.get(url, headers=admin.headers, timeout=60).json()["data"]["project"]
    assert not stored.get("settings")


def test_the_signed_64_bit_bounds_themselves_are_stored(stack: PlatformHandle) -> None:
    user = stack.create_user()
    inputs = {"max": INT64_MAX, "min": INT64_MIN, "nested": [{"max": INT64_MAX}]}
    response = _post(stack, user, "tasks", _task(inputs))
    assert response.status_code == 201, response.text
    task_id = response.json()["data"]["task"]["id"]
    stored = stack.db.collection("tasks").document(task_id).get().to_dict()
    assert stored is not None and stored["inputs"] == inputs
