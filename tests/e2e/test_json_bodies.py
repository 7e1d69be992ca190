"""JSON bodies no field can take, over HTTP on the local stack with real Auth-emulator tokens:
nesting deep enough to exhaust a recursive parser, numbers outside the double range and integers
too long to convert are a 400 in the envelope on every JSON endpoint (never a 500, never stored
as +inf), and nothing is written. Numbers are refused with the field path the client sent."""

from __future__ import annotations

from typing import Final

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
LARGE_ALLOWANCE: Final = 1_000_000
# (method, function, path): every endpoint that reads a JSON body and a plain user can reach,
# plus the admin ones (the caller below is an admin).
JSON_ENDPOINTS: Final = [
    ("POST", "tasks", "/"),
    ("POST", "task_groups", "/"),
    ("POST", "projects", "/"),
    ("POST", "agents", "/"),
    ("POST", "api_keys", "/"),
    ("PATCH", "users", "/me"),
    ("POST", "knowledge", "/entities"),
    ("POST", "knowledge", "/search"),
    ("PUT", "admin", "/users/{uid}/role"),
]
COLLECTIONS_A_CALLER_WRITES: Final = ("tasks", "task_groups", "projects", "api_keys")


@pytest.fixture(scope="module")
def admin(stack: PlatformHandle) -> AuthUser:
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


def send_text(
    stack: PlatformHandle, user: AuthUser, method: str, function: str, path: str, text: str
) -> requests.Response:
    return stack.http.request(
        method,
        stack.url(function, path.format(uid=user.uid)),
        data=text.encode(),
        headers={**user.headers, "Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )


def nothing_written(stack: PlatformHandle, user: AuthUser) -> None:
    for collection in COLLECTIONS_A_CALLER_WRITES:
        query = stack.db.collection(collection).where(filter=FieldFilter("userId", "==", user.uid))
        assert list(query.stream()) == [], collection
    stored = stack.db.collection("users").document(user.uid).get().to_dict() or {}
    assert stored.get("role") == "admin"


@pytest.mark.parametrize("depth", [100, 2_000, 100_000])
@pytest.mark.parametrize(
    ("method", "function", "path"),
    JSON_ENDPOINTS,
    ids=[f"{method} {function}{path}" for method, function, path in JSON_ENDPOINTS],
)
def test_deeply_nested_json_is_a_400_and_writes_nothing(
    stack: PlatformHandle, admin: AuthUser, method: str, function: str, path: str, depth: int
) -> None:
    text = '{"title":"abc","a":' + "[" * depth + "]" * depth + "}"
    response = send_text(stack, admin, method, function, path, text)
    assert response.status_code == 400, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert "nested deeper than 64 levels" in error["message"]
    nothing_written(stack, admin)


def test_deep_nesting_inside_a_field_is_refused_too(stack: PlatformHandle, admin: AuthUser) -> None:
    inputs = "{" + '"a":{' * 70 + "}" * 70 + "}"
    text = '{"title":"abc","description":"0123456789ab","inputs":' + inputs + "}"
    response = send_text(stack, admin, "POST", "tasks", "/", text)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"
    nothing_written(stack, admin)


NUMBER_CASES: Final = [
    (
        "POST",
        "tasks",
        "/",
        '{"title":"abc","description":"0123456789ab","inputs":{"x":%s}}',
        "inputs.x",
    ),
    (
        "POST",
        "task_groups",
        "/",
        '{"tasks":[{"ref":"a","title":"abc","description":"0123456789ab","inputs":{"n":[1,%s]}}]}',
        "tasks.0.inputs.n.1",
    ),
    ("POST", "projects", "/", '{"name":"abc","settings":{"limit":%s}}', "settings.limit"),
    ("POST", "knowledge", "/query", '{"query":"abc","limit":%s}', "limit"),
    ("POST", "api_keys", "/", '{"name":"key","scopes":["tasks:read"],"expiresAt":%s}', "expiresAt"),
]
NUMBERS: Final = {
    "1e400": ("1e400", "finite"),
    "-1e400": ("-1e400", "finite"),
    "5000-digit integer": ("1" + "0" * 5_000, "signed 64-bit"),
    "30-digit negative integer": ("-" + "9" * 30, "signed 64-bit"),
}


@pytest.mark.parametrize(("number", "message"), NUMBERS.values(), ids=list(NUMBERS))
@pytest.mark.parametrize(
    ("method", "function", "path", "template", "field"),
    NUMBER_CASES,
    ids=[f"{case[1]}-{case[4]}" for case in NUMBER_CASES],
)
def test_unstorable_numbers_are_a_400_naming_the_field(
    stack: PlatformHandle,
    admin: AuthUser,
    method: str,
    function: str,
    path: str,
    template: str,
    field: str,
    number: str,
    message: str,
) -> None:
    response = send_text(stack, admin, method, function, path, template % number)
    assert response.status_code == 400, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [detail["field"] for detail in error["details"]] == [field]
    assert message in error["details"][0]["message"]
    assert "digits" not in response.text  # not Python's own int-conversion message
    nothing_written(stack, admin)


def test_every_unstorable_number_is_named(stack: PlatformHandle, admin: AuthUser) -> None:
    text = (
        '{"title":"abc","description":"0123456789ab",'
        '"inputs":{"b":[0,-1e309],"a":{"c":1e400},"ok":1.5e300}}'
    )
    response = send_text(stack, admin, "POST", "tasks", "/", text)
    assert response.status_code == 400, response.text
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert fields == ["inputs.a.c", "inputs.b.1"]
    nothing_written(stack, admin)
