"""Metering over HTTP on the local stack: exactly k of 50 concurrent calls with k units left,
429 envelope and headers, burst limiting, RateLimit headers on success, cost per call."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 90


def me(stack: PlatformHandle, user: AuthUser) -> requests.Response:
    return stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT)


def set_api_limits(stack: PlatformHandle, uid: str, *, limit: int, burst: int) -> None:
    """New limits on a fresh counter generation (as an admin quota reset starts one): shard
    slices follow the limit, so counts made under other limits must not be reused as-is (the
    admin plan change carries them over; see aide.services.metering.carry_over)."""
    stack.db.collection("users").document(uid).update(
        {
            "quotas.apiCalls.limit": limit,
            "quotas.apiCalls.burstLimit": burst,
            "quotas.apiCalls.generation": 1,
        }
    )


def counted_calls(stack: PlatformHandle, uid: str, generation: int = 1) -> int:
    from google.cloud.firestore_v1.base_query import FieldFilter

    docs = stack.db.collection("quota_counters").where(filter=FieldFilter("userId", "==", uid))
    return sum(
        int(data.get("apiCalls", 0))
        for data in (doc.to_dict() or {} for doc in docs.stream())
        if data.get("generation") == generation
    )


def concurrent_gets(stack: PlatformHandle, user: AuthUser, count: int) -> list[requests.Response]:
    responses: list[requests.Response] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)
    lock = threading.Lock()

    def call() -> None:
        try:
            with requests.Session() as session:
                barrier.wait(timeout=60)
                response = session.get(
                    stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT
                )
            with lock:
                responses.append(response)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not failures, failures
    return responses


def assert_quota_exceeded(response: requests.Response, limit: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "quota_exceeded"
    details = body["error"]["details"]
    assert details["error"] == "Quota exceeded" and details["limit"] == limit
    assert details["reset"].endswith("Z")
    assert int(response.headers["Retry-After"]) >= 1
    assert "RateLimit-Policy" in response.headers
    assert "RateLimit" in response.headers
    return dict(details)


def test_fifty_concurrent_calls_with_twenty_units_left(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert me(stack, user).status_code == 200  # provisions the account
    set_api_limits(stack, user.uid, limit=20, burst=10_000)

    responses = concurrent_gets(stack, user, 50)

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 20 and statuses.count(429) == 30, statuses
    for response in responses:
        if response.status_code == 429:
            details = assert_quota_exceeded(response, 20)
            assert details["reset"].endswith("T00:00:00Z")
            assert '"day";r=0' in response.headers["RateLimit"]
        else:
            assert response.headers["RateLimit-Policy"].startswith('"day";q=20;w=86400')
    assert counted_calls(stack, user.uid) == 20
    # Exhaustion is remembered on the account: the next call is refused without counting.
    assert_quota_exceeded(me(stack, user), 20)
    assert counted_calls(stack, user.uid) == 20


def test_burst_limit_refuses_calls_past_the_per_minute_rate(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert me(stack, user).status_code == 200
    set_api_limits(stack, user.uid, limit=10_000, burst=12)
    minute_before = time.strftime("%H%M", time.gmtime())
    responses = concurrent_gets(stack, user, 30)
    minute_after = time.strftime("%H%M", time.gmtime())
    ok = sum(response.status_code == 200 for response in responses)
    statuses = sorted(response.status_code for response in responses)
    if minute_before == minute_after:
        assert ok == 12, statuses
    else:  # the calls straddled a minute boundary: two windows of 12
        assert 12 <= ok <= 24, statuses
    refused = [response for response in responses if response.status_code == 429]
    details = assert_quota_exceeded(refused[0], 12)
    assert int(refused[0].headers["Retry-After"]) <= 60
    assert details["reset"].endswith(":00Z")


def test_admitted_call_costs_one_extra_write_and_no_extra_read(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert me(stack, user).status_code == 200
    stack.reset_costs()
    response = me(stack, user)
    assert response.status_code == 200
    assert response.headers["RateLimit"].startswith('"day";r=')
    costs = stack.costs()
    # Authentication reads users/{uid}; metering adds exactly one write and no read.
    assert costs.get("writes") == 1, costs
    assert costs.get("reads") == 1, costs


def test_usage_reports_live_usage_limits_resets_and_history(stack: PlatformHandle) -> None:
    user = stack.create_user()
    assert me(stack, user).status_code == 200
    set_api_limits(stack, user.uid, limit=3, burst=60)
    for _ in range(3):
        assert me(stack, user).status_code == 200
    stack.db.collection("usage").document(f"{user.uid}_2026-01-02").set(
        {"id": f"{user.uid}_2026-01-02", "userId": user.uid, "date": "2026-01-02", "apiCalls": 9}
    )
    response = stack.http.get(
        stack.url("users", "/me/usage"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    api = data["usage"]["apiCalls"]
    assert api["used"] == 3 and api["limit"] == 3 and api["remaining"] == 0
    assert api["reset"].endswith("T00:00:00Z") and api["burstLimit"] == 60
    assert data["usage"]["taskMinutes"]["limit"] == 100
    assert data["usage"]["storageBytes"]["used"] == 0
    assert [day["date"] for day in data["history"]] == ["2026-01-02"]
    # Reading one's usage is free, and works when the quota is spent.
    assert me(stack, user).status_code == 429
    again = stack.http.get(stack.url("users", "/me/usage"), headers=user.headers, timeout=TIMEOUT)
    assert again.status_code == 200 and again.json()["data"]["usage"]["apiCalls"]["used"] == 3


def test_scheduled_reset_runs_on_demand_twice_with_the_same_result(stack: PlatformHandle) -> None:
    from datetime import UTC, datetime, timedelta

    user = stack.create_user()
    assert me(stack, user).status_code == 200
    ref = stack.db.collection("users").document(user.uid)
    ended = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    ref.update(
        {
            "quotas.apiCalls.reset": ended,
            "quotas.apiCalls.blockedUntil": ended + timedelta(days=1),
            "quotas.taskMinutes.used": 3.0,
            "quotas.taskMinutes.reset": ended,
        }
    )
    assert me(stack, user).status_code == 429  # blocked until the reset runs
    for _ in range(2):
        run = stack.run_schedule("reset_quotas")
        assert run.status_code in (200, 204), run.text
    quotas = (ref.get().to_dict() or {})["quotas"]
    assert quotas["apiCalls"]["reset"] > ended and "blockedUntil" not in quotas["apiCalls"]
    assert quotas["taskMinutes"]["used"] == 0
    month = (ended - timedelta(days=1)).strftime("%Y-%m")
    billing = stack.db.collection("billing").document(f"{user.uid}_{month}").get().to_dict() or {}
    assert billing["taskMinutes"] == 3.0
    assert me(stack, user).status_code == 200
