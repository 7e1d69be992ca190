"""admin over HTTP: admin role required (403 otherwise), role/status/plan changes, quota reset."""

from __future__ import annotations

import pytest

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60

ENDPOINTS = [
    ("GET", "/audit-logs", None),
    ("PUT", "/users/{uid}/role", {"role": "admin"}),
    ("PUT", "/users/{uid}/status", {"status": "active"}),
    ("PUT", "/users/{uid}/plan", {"plan": "enterprise"}),
    ("POST", "/users/{uid}/quota/reset", None),
]


def provision(stack: PlatformHandle, user: AuthUser) -> None:
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", ["user", "developer"])
def test_non_admins_get_403_on_every_admin_endpoint(stack: PlatformHandle, role: str) -> None:
    caller = stack.create_user()
    provision(stack, caller)
    stack.db.collection("users").document(caller.uid).update({"role": role})
    for method, path, body in ENDPOINTS:
        response = stack.http.request(
            method,
            stack.url("admin", path.format(uid=caller.uid)),
            json=body,
            headers=caller.headers,
            timeout=TIMEOUT,
        )
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "permission_denied"
    stored = stack.db.collection("users").document(caller.uid).get().to_dict() or {}
    assert stored["role"] == role and stored["subscription"]["plan"] == "free"


def test_unauthenticated_gets_401(stack: PlatformHandle) -> None:
    response = stack.http.get(stack.url("admin", "/audit-logs"), timeout=TIMEOUT)
    assert response.status_code == 401


def test_admin_sets_plan_and_resets_quota(stack: PlatformHandle) -> None:
    admin, target = stack.create_user(), stack.create_user()
    provision(stack, admin)
    provision(stack, target)
    stack.db.collection("users").document(admin.uid).update({"role": "admin"})
    ref = stack.db.collection("users").document(target.uid)
    ref.update({"quotas.apiCalls.limit": 8, "quotas.apiCalls.burstLimit": 100})
    for _ in range(7):
        provision(stack, target)
    refused = stack.http.get(stack.url("users", "/me"), headers=target.headers, timeout=TIMEOUT)
    assert refused.status_code == 429

    plan = stack.http.put(
        stack.url("admin", f"/users/{target.uid}/plan"),
        json={"plan": "pro"},
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert plan.status_code == 200, plan.text
    quotas = plan.json()["data"]["user"]["quotas"]
    assert plan.json()["data"]["user"]["subscription"]["plan"] == "pro"
    assert quotas["apiCalls"]["limit"] == 50_000 and quotas["taskMinutes"]["limit"] == 3_000
    provision(stack, target)  # the higher limit admits again at once

    # Exhausted again (recorded), then an admin reset starts a fresh counter generation.
    from datetime import UTC, datetime, timedelta

    ref.update({"quotas.apiCalls.blockedUntil": datetime.now(UTC) + timedelta(hours=1)})
    refused = stack.http.get(stack.url("users", "/me"), headers=target.headers, timeout=TIMEOUT)
    assert refused.status_code == 429
    reset = stack.http.post(
        stack.url("admin", f"/users/{target.uid}/quota/reset"),
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert reset.status_code == 200, reset.text
    # The plan change carried today's calls into generation 1; the reset starts generation 2.
    assert reset.json()["data"]["user"]["quotas"]["apiCalls"]["generation"] == 2
    provision(stack, target)

    bad = stack.http.put(
        stack.url("admin", f"/users/{target.uid}/role"),
        json={"role": "root"},
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400
    missing = stack.http.put(
        stack.url("admin", "/users/nobody/role"),
        json={"role": "user"},
        headers=admin.headers,
        timeout=TIMEOUT,
    )
    assert missing.status_code == 404
