"""What an API key may do over HTTP: never admin power unless it names an admin scope, never
more than its owner's current role, and its owner can always list and revoke it."""

from __future__ import annotations

from typing import Any

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


def member(stack: PlatformHandle, role: str) -> AuthUser:
    user = stack.create_user()
    first = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    stack.db.collection("users").document(user.uid).update({"role": role})
    return user


def issue(stack: PlatformHandle, owner: AuthUser, scopes: list[str]) -> tuple[str, str]:
    created = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "scoped key", "scopes": scopes},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    return data["key"], data["apiKey"]["id"]


def keyed(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def call(
    stack: PlatformHandle, method: str, function: str, path: str, headers: dict[str, str],
    body: Any = None,
) -> requests.Response:
    return stack.http.request(
        method, stack.url(function, path), json=body, headers=headers, timeout=TIMEOUT
    )


def admin_calls(target: str) -> list[tuple[str, str, str, Any]]:
    return [
        ("PUT", "admin", f"/users/{target}/role", {"role": "admin"}),
        ("PUT", "admin", f"/users/{target}/status", {"status": "suspended"}),
        ("PUT", "admin", f"/users/{target}/plan", {"plan": "enterprise"}),
        ("POST", "admin", f"/users/{target}/quota/reset", None),
        ("GET", "admin", "/audit-logs", None),
        ("GET", "users", f"/{target}", None),
        ("PATCH", "users", f"/{target}", {"role": "admin"}),
    ]


def test_resource_scopes_never_reach_admin_endpoints(stack: PlatformHandle) -> None:
    admin, target = member(stack, "admin"), member(stack, "user")
    for scopes in (["users:write", "users:read"], ["users:*"], ["*"]):
        key, _ = issue(stack, admin, scopes)
        for method, function, path, body in admin_calls(target.uid):
            refused = call(stack, method, function, path, keyed(key), body)
            assert refused.status_code == 403, (scopes, method, path, refused.text)
            assert refused.json()["error"]["code"] == "permission_denied"
    stored = stack.db.collection("users").document(target.uid).get().to_dict() or {}
    assert stored["role"] == "user" and stored["status"] == "active"
    assert stored["subscription"]["plan"] == "free"


def test_admin_scopes_grant_admin_endpoints_to_an_admins_key(stack: PlatformHandle) -> None:
    admin, target = member(stack, "admin"), member(stack, "user")
    reader, _ = issue(stack, admin, ["admin:read"])
    assert call(stack, "GET", "admin", "/audit-logs", keyed(reader)).status_code == 200
    assert call(stack, "GET", "users", f"/{target.uid}", keyed(reader)).status_code == 200
    denied = call(
        stack, "PUT", "admin", f"/users/{target.uid}/plan", keyed(reader), {"plan": "pro"}
    )
    assert denied.status_code == 403 and "admin:write" in denied.json()["error"]["message"]
    writer, _ = issue(stack, admin, ["admin:write"])
    changed = call(
        stack, "PUT", "admin", f"/users/{target.uid}/plan", keyed(writer), {"plan": "pro"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["user"]["subscription"]["plan"] == "pro"


def test_only_admins_may_issue_admin_scoped_keys(stack: PlatformHandle) -> None:
    developer = member(stack, "developer")
    refused = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "wants power", "scopes": ["admin:write"]},
        headers=developer.headers,
        timeout=TIMEOUT,
    )
    assert refused.status_code == 403, refused.text
    listed = call(stack, "GET", "api_keys", "/", developer.headers)
    assert listed.json()["data"]["apiKeys"] == []


def test_a_demoted_owners_keys_stop_working_and_stay_revocable(stack: PlatformHandle) -> None:
    owner = member(stack, "developer")
    key, key_id = issue(stack, owner, ["*"])
    task = {"title": "Keyed work", "description": "Created with an API key"}
    assert call(stack, "GET", "agents", "/", keyed(key)).status_code == 200

    stack.db.collection("users").document(owner.uid).update({"role": "user"})
    for method, function, path, body in (
        ("GET", "agents", "/", None),
        ("POST", "tasks", "/", task),
        ("GET", "users", "/me", None),
    ):
        refused = call(stack, method, function, path, keyed(key), body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert "owner is now a user" in refused.json()["error"]["message"]
    tasks = stack.db.collection("tasks").where(filter=FieldFilter("userId", "==", owner.uid)).get()
    assert list(tasks) == []

    # The owner, signed in, still sees and revokes the key, but may not issue a new one.
    listed = call(stack, "GET", "api_keys", "/", owner.headers)
    assert listed.status_code == 200, listed.text
    assert [k["id"] for k in listed.json()["data"]["apiKeys"]] == [key_id]
    assert call(stack, "GET", "api_keys", f"/{key_id}", owner.headers).status_code == 200
    revoked = call(stack, "DELETE", "api_keys", f"/{key_id}", owner.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["apiKey"]["revokedAt"] is not None
    assert call(stack, "POST", "api_keys", "/", owner.headers, {
        "name": "another", "scopes": ["tasks:read"]}).status_code == 403

    # Promoted again, the revoked key stays dead.
    stack.db.collection("users").document(owner.uid).update({"role": "developer"})
    assert call(stack, "GET", "agents", "/", keyed(key)).status_code == 401


def test_an_admin_demoted_to_developer_loses_the_keys_admin_power(
    stack: PlatformHandle,
) -> None:
    admin, target = member(stack, "admin"), member(stack, "user")
    key, _ = issue(stack, admin, ["admin:*", "agents:read"])
    assert call(stack, "GET", "admin", "/audit-logs", keyed(key)).status_code == 200
    stack.db.collection("users").document(admin.uid).update({"role": "developer"})
    assert call(stack, "GET", "admin", "/audit-logs", keyed(key)).status_code == 403
    assert call(stack, "GET", "users", f"/{target.uid}", keyed(key)).status_code == 403
    assert call(stack, "GET", "agents", "/", keyed(key)).status_code == 200
