"""Metering charges what the plan says, over HTTP: a free user creates the plan's 12 tasks a
minute (60 units, 5 per task), and a request refused by validation or answered by an idempotent
replay costs one unit, not the operation's five."""

from __future__ import annotations

import time

from google.cloud.firestore_v1.base_query import FieldFilter

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
TASK = {
    "title": "Metered task",
    "description": "Write a short plan for the release notes.",
    "agentId": "coder",
    "inputs": {"providerOptions": {"steps": 1}},
}


def counted_units(stack: PlatformHandle, uid: str) -> int:
    docs = stack.db.collection("quota_counters").where(filter=FieldFilter("userId", "==", uid))
    return sum(int((doc.to_dict() or {}).get("apiCalls", 0)) for doc in docs.stream())


def create(
    stack: PlatformHandle, user: AuthUser, body: object, key: str | None = None
) -> int:
    headers = dict(user.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = stack.http.post(
        stack.url("tasks", "/"), json=body, headers=headers, timeout=TIMEOUT
    )
    return response.status_code


def early_in_a_minute() -> None:
    """Start where a dozen requests cannot straddle two burst windows."""
    if time.gmtime().tm_sec > 40:
        time.sleep(61 - time.gmtime().tm_sec)


def test_a_free_user_creates_the_plans_twelve_tasks_a_minute(stack: PlatformHandle) -> None:
    user = stack.create_user()
    early_in_a_minute()
    statuses = [create(stack, user, TASK) for _ in range(13)]
    assert statuses == [201] * 12 + [429], statuses
    assert counted_units(stack, user.uid) == 60


def test_validation_refusals_and_replays_cost_one_unit(stack: PlatformHandle) -> None:
    user = stack.create_user()
    early_in_a_minute()
    assert create(stack, user, {"title": "x"}) == 400
    assert counted_units(stack, user.uid) == 1
    assert create(stack, user, {**TASK, "priority": "urgent!"}) == 400
    assert counted_units(stack, user.uid) == 2
    assert create(stack, user, TASK, key="metered-once") == 201
    assert counted_units(stack, user.uid) == 7
    for _ in range(3):
        response = stack.http.post(
            stack.url("tasks", "/"),
            json=TASK,
            headers={**user.headers, "Idempotency-Key": "metered-once"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 201 and response.headers["Idempotent-Replayed"] == "true"
    assert counted_units(stack, user.uid) == 10
    # What is left of the minute's 60 units still buys whole tasks: 50 / 5 = 10.
    statuses = [create(stack, user, TASK) for _ in range(11)]
    assert statuses == [201] * 10 + [429], statuses
