"""users over HTTP: first-call provisioning, GET/PATCH /users/me, admin role/status changes,
and bad input that must leave the document untouched."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


def me(stack: PlatformHandle, user: AuthUser) -> requests.Response:
    return stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)


def patch_me(stack: PlatformHandle, user: AuthUser, **kwargs: Any) -> requests.Response:
    return stack.http.patch(
        stack.url("users", "/me"), headers={**user.headers, **kwargs.pop("headers", {})},
        timeout=TIMEOUT, **kwargs,
    )


def stored_user(stack: PlatformHandle, uid: str) -> dict[str, Any] | None:
    return stack.db.collection("users").document(uid).get().to_dict()


def test_first_call_provisions_the_account(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert stored_user(stack, user.uid) is None
    response = me(stack, user)
    assert response.status_code == 200, response.text
    account = response.json()["data"]["user"]
    assert account["uid"] == user.uid
    assert account["email"] == user.email
    assert account["role"] == "user" and account["status"] == "active"
    plans = stack.db.collection("system_config").document("plans").get().to_dict()
    default = plans["plans"][plans["defaultPlan"]]
    assert account["subscription"]["plan"] == plans["defaultPlan"]
    assert account["quotas"]["apiCalls"]["limit"] == default["apiCallsPerDay"]
    assert account["quotas"]["taskMinutes"]["limit"] == default["taskMinutesPerMonth"]
    assert account["quotas"]["storageBytes"]["limit"] == default["storageBytes"]
    document = stored_user(stack, user.uid)
    assert document is not None and document["uid"] == user.uid


def test_concurrent_first_calls_create_one_account(stack: PlatformHandle) -> None:
    user = stack.create_user()
    responses: list[requests.Response] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def first_call() -> None:
        try:
            with requests.Session() as session:
                barrier.wait(timeout=30)
                responses.append(
                    session.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
                )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    created = {r.json()["data"]["user"]["createdAt"] for r in responses}
    assert len(created) == 1
    matching = [
        doc.id for doc in stack.db.collection("users").stream() if doc.id == user.uid
    ]
    assert matching == [user.uid]


def test_patch_me_changes_only_what_it_names(stack: PlatformHandle) -> None:
    user = stack.create_user()
    me(stack, user)
    first = patch_me(
        stack, user, json={"displayName": "Ada Lovelace", "preferences": {"theme": "dark"}}
    )
    assert first.status_code == 200, first.text
    account = first.json()["data"]["user"]
    assert account["displayName"] == "Ada Lovelace"
    assert account["preferences"]["theme"] == "dark"
    assert account["preferences"]["notifications"] is True
    second = patch_me(
        stack, user,
        json={"preferences": {"notifications": False, "defaultAgentSettings": {"model": "x"}}},
    )
    assert second.status_code == 200, second.text
    document = stored_user(stack, user.uid)
    assert document is not None
    assert document["displayName"] == "Ada Lovelace"
    assert document["preferences"] == {
        "theme": "dark",
        "notifications": False,
        "defaultAgentSettings": {"model": "x"},
    }
    assert me(stack, user).json()["data"]["user"]["preferences"]["notifications"] is False


def test_patch_me_rejects_platform_fields_and_bad_input(stack: PlatformHandle) -> None:
    user = stack.create_user()
    me(stack, user)
    before = stored_user(stack, user.uid)
    json_cases: list[Any] = [
        {"role": "admin"},
        {"status": "active"},
        {"quotas": {"apiCalls": {"limit": 10**9, "used": 0}}},
        {"subscription": {"plan": "enterprise"}},
        {"displayName": "Ada", "role": "admin"},
        {"nickname": "ada"},
        {"preferences": {"theme": "neon"}},
        {"preferences": {"fontSize": 12}},
        {"displayName": 42},
        {"displayName": "A"},
        {"displayName": "x" * 51},
        {"preferences": "dark"},
        ["displayName", "Ada"],
        "Ada",
        None,  # no body at all
    ]
    for body in json_cases:
        response = patch_me(stack, user, json=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] in {
            "validation_failed", "bad_request", "malformed_json", "unsupported_media_type"
        }
    raw_cases = [
        (b'{"displayName": "Ada"', "application/json"),
        (b"", "application/json"),
        (b'{"displayName": NaN}', "application/json"),
        (b'{"displayName": "Ada"}', "text/plain"),
    ]
    for raw, content_type in raw_cases:
        response = patch_me(stack, user, data=raw, headers={"Content-Type": content_type})
        assert response.status_code == 400, (raw, response.text)
    oversized = b'{"displayName": "' + b"x" * (1024 * 1024) + b'"}'
    response = patch_me(
        stack, user, data=oversized, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert stored_user(stack, user.uid) == before


def test_admin_changes_role_and_status(stack: PlatformHandle) -> None:
    admin, target = stack.create_user(), stack.create_user()
    me(stack, admin)
    me(stack, target)
    stack.db.collection("users").document(admin.uid).update({"role": "admin"})
    url = stack.url("users", f"/{target.uid}")

    refused = stack.http.patch(url, json={"role": "admin"}, headers=target.headers, timeout=TIMEOUT)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Insufficient permissions"

    bad = stack.http.patch(url, json={"role": "root"}, headers=admin.headers, timeout=TIMEOUT)
    assert bad.status_code == 400
    promoted = stack.http.patch(
        url, json={"role": "developer"}, headers=admin.headers, timeout=TIMEOUT
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["data"]["user"]["role"] == "developer"
    assert me(stack, target).json()["data"]["user"]["role"] == "developer"

    deactivated = stack.http.patch(
        url, json={"status": "inactive"}, headers=admin.headers, timeout=TIMEOUT
    )
    assert deactivated.status_code == 200, deactivated.text
    blocked = me(stack, target)
    assert blocked.status_code == 403
    assert blocked.json()["error"] == {
        "code": "account_inactive",
        "message": "Account inactive",
        "details": None,
    }
    missing = stack.http.get(
        stack.url("users", "/no-such-user"), headers=admin.headers, timeout=TIMEOUT
    )
    assert missing.status_code == 404
