"""The tasks function over HTTP on the local stack, with real Auth-emulator tokens: create, list,
get, events, cancel (cascading), retry, idempotent create, bad input — and dispatch through the
real Firestore trigger to the real Pub/Sub topic, with every event delivered twice."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aide.domain import topics
from aide.services.task_execution import claim_task, complete_task, fail_task

from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
DESCRIPTION = "A description that is long enough."


def create(
    stack: PlatformHandle, user: AuthUser, body: dict[str, Any], key: str | None = None
) -> requests.Response:
    headers = dict(user.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return stack.http.post(stack.url("tasks", "/"), json=body, headers=headers, timeout=TIMEOUT)


def task_body(title: str = "Write the docs", **fields: Any) -> dict[str, Any]:
    return {"title": title, "description": DESCRIPTION, **fields}


def get(stack: PlatformHandle, user: AuthUser, path: str, **params: Any) -> requests.Response:
    return stack.http.get(
        stack.url("tasks", path), headers=user.headers, params=params, timeout=TIMEOUT
    )


def post(stack: PlatformHandle, user: AuthUser, path: str, body: Any = None) -> requests.Response:
    return stack.http.post(
        stack.url("tasks", path), headers=user.headers, json=body, timeout=TIMEOUT
    )


def created_id(response: requests.Response) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["task"]["id"])


def test_create_get_list_and_events(stack: PlatformHandle) -> None:
    user = stack.create_user()
    response = create(stack, user, task_body(priority="high", inputs={"n": 1}))
    task_id = created_id(response)
    task = response.json()["data"]["task"]
    assert task["status"] == "queued" and task["priority"] == "high" and task["userId"] == user.uid
    stored = stack.db.collection("tasks").document(task_id).get()
    assert stored.exists and stored.to_dict()["description"] == DESCRIPTION

    fetched = get(stack, user, f"/{task_id}")
    assert fetched.status_code == 200 and fetched.json()["data"]["task"]["id"] == task_id
    listed = get(stack, user, "/", status="queued", priority="high")
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()["data"]["tasks"]] == [task_id]
    assert "nextCursor" not in listed.json()["data"]
    events = get(stack, user, f"/{task_id}/events")
    assert [e["kind"] for e in events.json()["data"]["events"]] == ["queued"]


def test_pagination_over_http(stack: PlatformHandle) -> None:
    user = stack.create_user()
    ids = [created_id(create(stack, user, task_body(f"task {i}"))) for i in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = get(stack, user, "/", **params)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        seen += [t["id"] for t in data["tasks"]]
        if "nextCursor" not in data:
            break
        params["cursor"] = data["nextCursor"]
    assert seen == ids[::-1]


def test_other_tenants_and_missing_credentials(stack: PlatformHandle) -> None:
    owner, intruder = stack.create_user(), stack.create_user()
    task_id = created_id(create(stack, owner, task_body()))
    for response in (
        get(stack, intruder, f"/{task_id}"),
        get(stack, intruder, f"/{task_id}/events"),
        post(stack, intruder, f"/{task_id}/cancel"),
        post(stack, intruder, f"/{task_id}/retry"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert get(stack, intruder, "/").json()["data"]["tasks"] == []
    anonymous = stack.http.get(stack.url("tasks", f"/{task_id}"), timeout=TIMEOUT)
    assert anonymous.status_code == 401
    forged = stack.http.get(
        stack.url("tasks", "/"), headers={"Authorization": "Bearer not-a-token"}, timeout=TIMEOUT
    )
    assert forged.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (task_body("no"), "title"),
        (task_body(description="short"), "description"),
        (task_body(priority="urgent"), "priority"),
        (task_body(color="blue"), "color"),
        (task_body(agentId="no-such-agent"), "agentId"),
        (task_body(dependencies=["no-such-task"]), "dependencies.0"),
    ],
)
def test_bad_bodies_are_400_with_the_field(
    stack: PlatformHandle, body: dict[str, Any], field: str
) -> None:
    user = stack.create_user()
    response = create(stack, user, body)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "zero"},
        {"cursor": "bm9wZQ"},
        {"status": "sleeping"},
        {"colour": "red"},
    ],
)
def test_bad_queries_are_400(stack: PlatformHandle, params: dict[str, str]) -> None:
    response = get(stack, stack.create_user(), "/", **params)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("task_id", ["__reserved__", "..x", "%2E", "a%2Fb"])
def test_ids_firestore_refuses_are_simply_not_found(stack: PlatformHandle, task_id: str) -> None:
    user = stack.create_user()
    for response in (get(stack, user, f"/{task_id}"), post(stack, user, f"/{task_id}/cancel")):
        assert response.status_code in (404, 405), response.text
        assert response.json()["success"] is False


@pytest.mark.parametrize("value", ["a/b", "..", "__x__"])
def test_ids_firestore_refuses_are_400_in_queries_and_bodies(
    stack: PlatformHandle, value: str
) -> None:
    user = stack.create_user()
    assert get(stack, user, "/", projectId=value).status_code == 400
    assert create(stack, user, task_body(agentId=value)).status_code == 400
    assert create(stack, user, task_body(dependencies=[value])).status_code == 400


def test_malformed_json_is_400(stack: PlatformHandle) -> None:
    user = stack.create_user()
    response = stack.http.post(
        stack.url("tasks", "/"),
        data="{not json",
        headers={**user.headers, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_idempotent_create(stack: PlatformHandle) -> None:
    user = stack.create_user()
    key = uuid.uuid4().hex
    first = create(stack, user, task_body(), key=key)
    again = create(stack, user, task_body(), key=key)
    assert created_id(again) == created_id(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["data"] == first.json()["data"]
    other_body = create(stack, user, task_body(priority="low"), key=key)
    assert other_body.status_code == 409, other_body.text
    listed = get(stack, user, "/").json()["data"]["tasks"]
    assert len(listed) == 1


def test_cancel_cascades_and_illegal_moves_are_409(stack: PlatformHandle) -> None:
    user = stack.create_user()
    root = created_id(create(stack, user, task_body("root")))
    child = created_id(create(stack, user, task_body("child", dependencies=[root])))
    assert get(stack, user, f"/{child}").json()["data"]["task"]["status"] == "pending"

    cancelled = post(stack, user, f"/{root}/cancel", {"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["task"]["status"] == "cancelled"
    assert cancelled.json()["data"]["task"]["cancelReason"] == "changed my mind"
    child_task = get(stack, user, f"/{child}").json()["data"]["task"]
    assert child_task["status"] == "cancelled"
    assert child_task["cancelReason"] == f"dependency '{root}' was cancelled"

    assert post(stack, user, f"/{root}/cancel").status_code == 200  # repeat: unchanged
    retry = post(stack, user, f"/{root}/retry")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "conflict"
    assert post(stack, user, f"/{root}/cancel", {"bogus": 1}).status_code == 400


def test_retry_a_failed_task(stack: PlatformHandle) -> None:
    user = stack.create_user()
    task_id = created_id(create(stack, user, task_body()))
    claim_task(stack.db, task_id)
    fail_task(stack.db, task_id, error="provider refused")
    assert get(stack, user, f"/{task_id}").json()["data"]["task"]["error"] == "provider refused"
    retried = post(stack, user, f"/{task_id}/retry")
    assert retried.status_code == 200, retried.text
    task = retried.json()["data"]["task"]
    assert task["status"] == "queued" and task["attempts"] == 0 and "error" not in task
    kinds = [e["kind"] for e in get(stack, user, f"/{task_id}/events").json()["data"]["events"]]
    assert kinds == ["queued", "started", "failed", "retried"]


# --- dispatch through the real trigger and topic ---------------------------------------------


class DispatchMessages:
    """Messages published on the dispatch topic since it was created (a pull subscription)."""

    def __init__(self, stack: PlatformHandle) -> None:
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1

        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        topic = f"projects/{stack.project}/topics/{topics.TASK_DISPATCH}"
        try:
            self.publisher.create_topic(request={"name": topic})
        except AlreadyExists:
            pass
        self.subscription = f"projects/{stack.project}/subscriptions/e2e-{uuid.uuid4().hex[:8]}"
        self.subscriber.create_subscription(request={"name": self.subscription, "topic": topic})
        self.received: list[dict[str, Any]] = []

    def refresh(self) -> Counter[str]:
        """Pull what arrived since the last call; messages per task id so far."""
        while True:
            response = self.subscriber.pull(
                request={
                    "subscription": self.subscription,
                    "max_messages": 100,
                    "return_immediately": True,
                },
                timeout=30,
            )
            if not response.received_messages:
                return Counter(m["taskId"] for m in self.received)
            self.received += [json.loads(r.message.data) for r in response.received_messages]
            self.subscriber.acknowledge(
                request={
                    "subscription": self.subscription,
                    "ack_ids": [r.ack_id for r in response.received_messages],
                }
            )

    def close(self) -> None:
        self.subscriber.delete_subscription(request={"subscription": self.subscription})
        self.subscriber.close()
        self.publisher.transport.close()


@pytest.fixture
def dispatch_messages(stack: PlatformHandle) -> Iterator[DispatchMessages]:
    messages = DispatchMessages(stack)
    try:
        yield messages
    finally:
        messages.close()


def wait_for_counts(
    stack: PlatformHandle, messages: DispatchMessages, expected: dict[str, int], timeout: float = 60
) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        stack.wait_idle()
        counts = messages.refresh()
        mine = Counter({k: v for k, v in counts.items() if k in expected})
        if mine == Counter(expected) or time.monotonic() > deadline:
            return mine
        time.sleep(0.2)


def test_every_dispatch_is_published_once_under_duplicate_delivery(
    stack: PlatformHandle, dispatch_messages: DispatchMessages
) -> None:
    user = stack.create_user()
    with stack.duplicate_delivery():
        a = created_id(create(stack, user, task_body("task a")))
        b = created_id(create(stack, user, task_body("task b")))
        joined = created_id(create(stack, user, task_body("joined", dependencies=[a, b])))
        assert wait_for_counts(stack, dispatch_messages, {a: 1, b: 1}) == Counter({a: 1, b: 1})
        for task_id in (a, b):
            claim_task(stack.db, task_id)
            claim_task(stack.db, task_id)  # a redelivered dispatch claims nothing
        for task_id in (a, b, a, b):  # every completion reported twice
            complete_task(stack.db, task_id)
        counts = wait_for_counts(stack, dispatch_messages, {a: 1, b: 1, joined: 1})
    assert counts == Counter({a: 1, b: 1, joined: 1})
    assert get(stack, user, f"/{joined}").json()["data"]["task"]["status"] == "queued"
