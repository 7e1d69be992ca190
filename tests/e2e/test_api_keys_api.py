"""API keys over HTTP: create -> use -> scope denied -> expired -> revoked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


def developer(stack: PlatformHandle) -> AuthUser:
    user = stack.create_user()
    first = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    stack.db.collection("users").document(user.uid).update({"role": "developer"})
    return user


def create_key(
    stack: PlatformHandle, user: AuthUser, **body: Any
) -> requests.Response:
    return stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "ci key", "scopes": ["agents:read"], **body},
        headers=user.headers,
        timeout=TIMEOUT,
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_key_lifecycle(stack: PlatformHandle) -> None:
    user = developer(stack)
    created = create_key(stack, user, scopes=["agents:read", "projects:*"])
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    data = created.json()["data"]
    key, view = data["key"], data["apiKey"]
    assert key.startswith(f"aide_{view['id']}_")
    assert key.startswith(view["prefix"]) and len(view["prefix"]) < len(key)
    assert "hash" not in view

    # Stored only as a hash.
    document = stack.db.collection("api_keys").document(view["id"]).get().to_dict()
    assert key not in str(document)
    assert document["userId"] == user.uid

    # Use it, both ways.
    for headers in (bearer(key), {"X-API-Key": key}):
        agents = stack.http.get(stack.url("agents", "/"), headers=headers, timeout=TIMEOUT)
        assert agents.status_code == 200, agents.text
    made = stack.http.post(
        stack.url("projects", "/"), json={"name": "Keyed"}, headers=bearer(key), timeout=TIMEOUT
    )
    assert made.status_code == 201, made.text
    assert made.json()["data"]["project"]["userId"] == user.uid

    # Outside its scopes.
    denied = stack.http.post(
        stack.url("agents", "/"),
        json={"task": {"description": "Should not be created"}},
        headers=bearer(key),
        timeout=TIMEOUT,
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    assert "tasks:write" in denied.json()["error"]["message"]
    me = stack.http.get(stack.url("users", "/me"), headers=bearer(key), timeout=TIMEOUT)
    assert me.status_code == 403
    # A key never manages keys, whatever its scopes.
    for method, path in (("GET", "/"), ("POST", "/"), ("DELETE", f"/{view['id']}")):
        refused = stack.http.request(
            method, stack.url("api_keys", path), headers=bearer(key),
            json={"name": "minted", "scopes": ["*"]}, timeout=TIMEOUT,
        )
        assert refused.status_code == 403, (method, path, refused.text)

    # Listed without the secret; lastUsedAt recorded.
    listed = stack.http.get(stack.url("api_keys", "/"), headers=user.headers, timeout=TIMEOUT)
    assert listed.status_code == 200
    keys = listed.json()["data"]["apiKeys"]
    assert [k["id"] for k in keys] == [view["id"]]
    assert key not in listed.text and "hash" not in keys[0]
    assert keys[0]["lastUsedAt"]

    # Revoked: refused from then on.
    revoked = stack.http.delete(
        stack.url("api_keys", f"/{view['id']}"), headers=user.headers, timeout=TIMEOUT
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["apiKey"]["revokedAt"]
    after = stack.http.get(stack.url("agents", "/"), headers=bearer(key), timeout=TIMEOUT)
    assert after.status_code == 401
    assert after.json()["error"]["message"] == "API key revoked"


def test_expired_key_is_refused(stack: PlatformHandle) -> None:
    user = developer(stack)
    expires = datetime.now(UTC) + timedelta(seconds=3)
    created = create_key(stack, user, expiresAt=expires.isoformat().replace("+00:00", "Z"))
    assert created.status_code == 201, created.text
    key = created.json()["data"]["key"]
    first = stack.http.get(stack.url("agents", "/"), headers=bearer(key), timeout=TIMEOUT)
    # Allow for a very slow machine: the key may already have expired.
    assert first.status_code in (200, 401)
    deadline = time.monotonic() + 60
    while True:
        response = stack.http.get(stack.url("agents", "/"), headers=bearer(key), timeout=TIMEOUT)
        if response.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "API key expired"


def test_key_follows_its_owner_status(stack: PlatformHandle) -> None:
    user = developer(stack)
    key = create_key(stack, user).json()["data"]["key"]
    stack.db.collection("users").document(user.uid).update({"status": "suspended"})
    response = stack.http.get(stack.url("agents", "/"), headers=bearer(key), timeout=TIMEOUT)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Account inactive"


def test_bad_create_requests_write_nothing(stack: PlatformHandle) -> None:
    user = developer(stack)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    cases: list[Any] = [
        {"name": "ci key", "scopes": []},
        {"name": "ci key", "scopes": ["root"]},
        {"name": "ci", "scopes": ["*"]},
        {"name": "ci key", "scopes": ["*"], "expiresAt": past},
        {"name": "ci key", "scopes": ["*"], "expiresAt": "tomorrow"},
        {"name": "ci key", "scopes": ["*"], "expiresAt": "2030-01-01T00:00:00"},
        {"name": "ci key", "scopes": "*"},
        {"name": "ci key", "scopes": ["*"], "userId": "someone-else"},
        {"name": "ci key", "scopes": ["*"], "hash": "0" * 64},
    ]
    for body in cases:
        response = stack.http.post(
            stack.url("api_keys", "/"), json=body, headers=user.headers, timeout=TIMEOUT
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["details"]
    listed = stack.http.get(stack.url("api_keys", "/"), headers=user.headers, timeout=TIMEOUT)
    assert listed.json()["data"]["apiKeys"] == []


def test_users_cannot_create_keys(stack: PlatformHandle) -> None:
    user = stack.create_user()
    response = create_key(stack, user)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Insufficient permissions"
