"""The audit trail on the local stack with every trigger delivered twice: each audited action is
recorded exactly once, with actor, request context and before/after; admins read it through
GET /admin/audit-logs with filters and cursor pagination."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60


@pytest.fixture
def twice(stack: PlatformHandle) -> Iterator[PlatformHandle]:
    with stack.duplicate_delivery():
        yield stack
    stack.wait_idle()


def provision(stack: PlatformHandle, user: AuthUser) -> None:
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def make_admin(stack: PlatformHandle) -> AuthUser:
    admin = stack.create_user()
    provision(stack, admin)
    stack.db.collection("users").document(admin.uid).update({"role": "admin"})
    return admin


def entries_for(stack: PlatformHandle, resource_id: str) -> list[dict[str, Any]]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = stack.db.collection("audit_logs").where(
        filter=FieldFilter("resourceId", "==", resource_id)
    )
    return [doc.to_dict() or {} for doc in query.stream()]


def wait_for_actions(
    stack: PlatformHandle, resource_id: str, expected: Counter[str], timeout: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        stack.wait_idle()
        entries = entries_for(stack, resource_id)
        if Counter(entry["action"] for entry in entries) == expected or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def test_project_lifecycle_is_audited_once_per_change(twice: PlatformHandle) -> None:
    stack = twice
    owner = stack.create_user()
    provision(stack, owner)
    headers = {**owner.headers, "User-Agent": "audit-test/1.0", "X-Request-Id": "req-create-1"}
    created = stack.http.post(
        stack.url("projects", "/"), json={"name": "Audited"}, headers=headers, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    project_id = created.json()["data"]["project"]["id"]
    changed = stack.http.patch(
        stack.url("projects", f"/{project_id}"),
        json={"description": "now described"},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert changed.status_code == 200, changed.text
    deleted = stack.http.delete(
        stack.url("projects", f"/{project_id}"), headers=owner.headers, timeout=TIMEOUT
    )
    assert deleted.status_code == 200, deleted.text

    expected = Counter({"project.created": 1, "project.changed": 1, "project.deleted": 1})
    entries = wait_for_actions(stack, project_id, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    for entry in entries:
        assert entry["actorId"] == owner.uid and entry["resourceType"] == "project"
        assert entry["timestamp"] is not None
    by_action = {entry["action"]: entry for entry in entries}
    assert "before" not in by_action["project.created"]
    assert by_action["project.created"]["after"]["name"] == "Audited"
    assert by_action["project.changed"]["after"]["description"] == "now described"


def test_api_key_created_and_revoked_are_audited_once(twice: PlatformHandle) -> None:
    stack = twice
    owner = stack.create_user()
    provision(stack, owner)
    stack.db.collection("users").document(owner.uid).update({"role": "developer"})
    issued = stack.http.post(
        stack.url("api_keys", "/"),
        json={"name": "audited key", "scopes": ["agents:read"]},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert issued.status_code == 201, issued.text
    key_id = issued.json()["data"]["apiKey"]["id"]
    revoked = stack.http.delete(
        stack.url("api_keys", f"/{key_id}"), headers=owner.headers, timeout=TIMEOUT
    )
    assert revoked.status_code in (200, 204), revoked.text
    expected = Counter({"api_key.created": 1, "api_key.revoked": 1})
    entries = wait_for_actions(stack, key_id, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    assert all("secret" not in str(entry.get("after")) for entry in entries)


def test_admin_changes_and_denied_access_are_audited_with_request_context(
    twice: PlatformHandle,
) -> None:
    stack = twice
    admin, target = make_admin(stack), stack.create_user()
    provision(stack, target)
    headers = {**admin.headers, "User-Agent": "admin-console/2", "X-Request-Id": "req-role-1"}
    for path, body in (
        (f"/users/{target.uid}/role", {"role": "developer"}),
        (f"/users/{target.uid}/status", {"status": "suspended"}),
        (f"/users/{target.uid}/plan", {"plan": "pro"}),
    ):
        response = stack.http.put(
            stack.url("admin", path), json=body, headers=headers, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
    reset = stack.http.post(
        stack.url("admin", f"/users/{target.uid}/quota/reset"), headers=headers, timeout=TIMEOUT
    )
    assert reset.status_code == 200, reset.text
    again = stack.http.post(
        stack.url("admin", f"/users/{target.uid}/quota/reset"), headers=headers, timeout=TIMEOUT
    )
    assert again.status_code == 200, again.text

    expected = Counter(
        {
            "user.role_changed": 1,
            "user.status_changed": 1,
            "user.plan_changed": 1,
            "quota.reset": 1,  # the retried request (same request id) resets nothing twice
        }
    )
    entries = wait_for_actions(stack, target.uid, expected)
    assert Counter(entry["action"] for entry in entries) == expected, entries
    for entry in entries:
        assert entry["actorId"] == admin.uid and entry["actorType"] == "user"
        assert entry["requestId"] == "req-role-1"
        assert entry["userAgent"] == "admin-console/2"
        assert entry["ip"]
    role = next(entry for entry in entries if entry["action"] == "user.role_changed")
    assert role["before"]["role"] == "user" and role["after"]["role"] == "developer"

    user = stack.create_user()
    provision(stack, user)
    denied = stack.http.get(
        stack.url("admin", "/audit-logs"),
        headers={**user.headers, "X-Request-Id": "req-denied-1"},
        timeout=TIMEOUT,
    )
    assert denied.status_code == 403
    listed = stack.http.get(
        stack.url("admin", "/audit-logs"),
        params={"actorId": user.uid, "action": "admin.access_denied"},
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert listed.status_code == 200, listed.text
    logs = listed.json()["data"]["logs"]
    assert len(logs) == 1 and logs[0]["requestId"] == "req-denied-1"


def test_audit_log_listing_filters_and_pages(stack: PlatformHandle) -> None:
    admin, owner = make_admin(stack), stack.create_user()
    provision(stack, owner)
    ids = []
    for index in range(5):
        response = stack.http.post(
            stack.url("projects", "/"),
            json={"name": f"Paged {index}"},
            headers=owner.headers,
            timeout=TIMEOUT,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["project"]["id"])
    stack.wait_idle()

    seen: list[str] = []
    cursor: str | None = None
    url = stack.url("admin", "/audit-logs")
    for _ in range(10):
        params: dict[str, Any] = {"actorId": owner.uid, "action": "project.created", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = stack.http.get(url, params=params, headers=admin.headers, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        seen += [log["resourceId"] for log in data["logs"]]
        cursor = data.get("nextCursor")
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    times = [
        log["timestamp"]
        for log in stack.http.get(
            url, params={"resourceType": "project"}, headers=admin.headers, timeout=TIMEOUT
        ).json()["data"]["logs"]
    ]
    assert times == sorted(times, reverse=True)
    window = stack.http.get(
        url,
        params={
            "actorId": owner.uid,
            "since": "2000-01-01T00:00:00Z",
            "until": "2000-01-02T00:00:00Z",
        },
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert window.status_code == 200 and window.json()["data"]["logs"] == []
    bad = stack.http.get(
        url, params={"cursor": "not-a-cursor"}, headers=admin.headers, timeout=TIMEOUT
    )
    assert bad.status_code == 400


# Rules (clients never read audit_logs, quota_counters, quota_charges or others' usage, and write
# nothing) are judged in tests/integration/test_firestore_rules.py for every server-only collection.
