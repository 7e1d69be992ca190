"""Probes make the platform work (a write, a trigger, a Pub/Sub message, a result write): over
HTTP with real Auth-emulator tokens, anonymous callers and non-admins cannot start or read one,
and nothing is written for them; an admin (ID token, or an API key scoped `admin:write`, which
neither a resource scope nor `*` implies) can."""

from __future__ import annotations

from typing import Final

import pytest

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60


def provision(stack: PlatformHandle, user: AuthUser, role: str) -> None:
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT_S)
    assert response.status_code == 200, response.text
    stack.db.collection("users").document(user.uid).update({"role": role})


def api_key(stack: PlatformHandle, user: AuthUser, scopes: list[str]) -> dict[str, str]:
    response = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "probe key", "scopes": scopes},
        headers=user.headers,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["data"]["key"]}


def probe_count(stack: PlatformHandle) -> int:
    return len(list(stack.db.collection("probes").stream()))


def test_anonymous_callers_cannot_start_or_read_probes(platform: PlatformHandle) -> None:
    for _ in range(3):
        response = platform.http.post(platform.url("probes", "/"), json={}, timeout=TIMEOUT_S)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"
    assert probe_count(platform) == 0
    response = platform.http.get(platform.url("probes", "/someprobe"), timeout=TIMEOUT_S)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("role", ["user", "developer"])
def test_non_admins_cannot_start_probes(platform: PlatformHandle, role: str) -> None:
    user = platform.create_user()
    provision(platform, user, role)
    response = platform.http.post(
        platform.url("probes", "/"), json={}, headers=user.headers, timeout=TIMEOUT_S
    )
    assert response.status_code == 403, response.text
    assert probe_count(platform) == 0


def test_an_admin_key_needs_the_admin_scope(platform: PlatformHandle) -> None:
    admin = platform.create_user()
    provision(platform, admin, "admin")
    for scopes in (["tasks:write", "users:write"], ["*"]):
        narrow = api_key(platform, admin, scopes)
        response = platform.http.post(
            platform.url("probes", "/"), json={}, headers=narrow, timeout=TIMEOUT_S
        )
        assert response.status_code == 403, (scopes, response.text)
    assert probe_count(platform) == 0
    broad = api_key(platform, admin, ["admin:write"])
    response = platform.http.post(
        platform.url("probes", "/"), json={}, headers=broad, timeout=TIMEOUT_S
    )
    assert response.status_code == 201, response.text
    probe_id = response.json()["data"]["probeId"]
    view = platform.http.get(
        platform.url("probes", f"/{probe_id}"), headers=admin.headers, timeout=TIMEOUT_S
    )
    assert view.status_code == 200, view.text
