"""The tasks function over HTTP on the local stack, with real Auth-emulator tokens: create, list,
get, events, cancel (cascading), retry, idempotent create, bad input — and dispatch through the
real Firestore trigger to the real Pub/Sub topic, with every event delivered twice.

The agent runtime consumes that topic and runs every dispatched task with the scripted provider,
so no test races it: a task that must stay queued waits on purpose (its user's run slots are all
held by slow runs), one that must not finish runs slowly (the `latency` knob), and everything else
is left to run and is observed through its timestamps and its events stream."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from aide.adapters.repositories.tasks import TaskRepository
from aide.domain import topics
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.tasks import Task
from tests.firestore_emulator.waiting import wait_until
from tests.fixtures.stack import AuthUser, PlatformHandle
from tests.support.task_runs import complete_task

TIMEOUT = 60
RUN_TIMEOUT = 90  # a whole (short) scripted run on a loaded 2-core machine
DESCRIPTION = "A description that is long enough."
TERMINAL = {"completed", "failed", "cancelled"}
# A run that cannot finish during a test: one step whose provider call takes this long. The
# runtime aborts the call as soon as the task is cancelled, so it never really waits this out.
SLOW = {"steps": 1, "latency": 300}
POLL_S = 0.1


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


def scripted(title: str, options: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A task for the scripted coder agent, shaped by the provider's knobs."""
    return task_body(title, agentId="coder", inputs={"providerOptions": options}, **fields)


def load(stack: PlatformHandle, task_id: str) -> Task:
    task = TaskRepository(stack.db).get(task_id)
    assert task is not None, task_id
    return task


def event_list(stack: PlatformHandle, user: AuthUser, task_id: str) -> list[dict[str, Any]]:
    response = get(stack, user, f"/{task_id}/events")
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["events"])


def kinds_of(stack: PlatformHandle, user: AuthUser, task_id: str) -> list[str]:
    return [event["kind"] for event in event_list(stack, user, task_id)]


def stored_kinds(stack: PlatformHandle, task_id: str) -> list[str]:
    """The events stream read from Firestore, as a client listens to it: for polling, which
    over HTTP would spend the user's per-minute call quota."""
    return [str(event.kind) for event in TaskRepository(stack.db).list_events(task_id, limit=500)]


def wait_status(
    stack: PlatformHandle, task_id: str, statuses: set[str], timeout: float = RUN_TIMEOUT
) -> Task:
    def reached() -> Task | None:
        task = load(stack, task_id)
        return task if task.status.value in statuses else None

    found: Task | None = wait_until(reached, timeout, POLL_S)
    assert found is not None
    return found


@contextlib.contextmanager
def all_run_slots_held(stack: PlatformHandle, user: AuthUser) -> Iterator[list[str]]:
    """Every run slot of `user` (the default plan's concurrent tasks) taken by a slow run, so the
    runtime leaves the user's next dispatched task queued, waiting for a slot. On exit the slow
    runs are cancelled, which stops them."""
    holders = [
        created_id(create(stack, user, scripted(f"slot holder {i}", SLOW)))
        for i in range(DEFAULT_PLANS[PlanName.FREE].concurrent_tasks)
    ]
    try:
        for task_id in holders:
            wait_status(stack, task_id, {"in_progress"})
        yield holders
    finally:
        for task_id in holders:
            post(stack, user, f"/{task_id}/cancel", {"reason": "test over"})


def test_create_get_list_and_events(stack: PlatformHandle) -> None:
    user = stack.create_user()
    with all_run_slots_held(stack, user):
        response = create(stack, user, task_body(priority="high", inputs={"n": 1}))
        task_id = created_id(response)
        task = response.json()["data"]["task"]
        assert task["status"] == "queued" and task["priority"] == "high"
        assert task["userId"] == user.uid
        stored = stack.db.collection("tasks").document(task_id).get()
        assert stored.exists and (stored.to_dict() or {})["description"] == DESCRIPTION

        # The runtime received the dispatch and parked the task: from here on it stays queued.
        wait_until(lambda: len(stored_kinds(stack, task_id)) > 1, RUN_TIMEOUT, POLL_S)
        events = event_list(stack, user, task_id)
        assert [e["kind"] for e in events] == ["queued", "log"], events
        assert events[1]["data"]["waiting"] is True

        fetched = get(stack, user, f"/{task_id}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["data"]["task"]["id"] == task_id
        assert fetched.json()["data"]["task"]["status"] == "queued"
        listed = get(stack, user, "/", status="queued", priority="high")
        assert listed.status_code == 200, listed.text
        assert [t["id"] for t in listed.json()["data"]["tasks"]] == [task_id]
        assert "nextCursor" not in listed.json()["data"]


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
    # Slow, so it is still unfinished (queued or running) when it is cancelled.
    root = created_id(create(stack, user, scripted("root", SLOW)))
    child = created_id(create(stack, user, task_body("child", dependencies=[root])))
    assert get(stack, user, f"/{child}").json()["data"]["task"]["status"] == "pending"

    cancelled = post(stack, user, f"/{root}/cancel", {"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["task"]["status"] == "cancelled"
    assert cancelled.json()["data"]["task"]["cancelReason"] == "changed my mind"
    child_task = get(stack, user, f"/{child}").json()["data"]["task"]
    assert child_task["status"] == "cancelled"
    assert child_task["cancelReason"] == f"dependency '{root}' was cancelled"
    assert kinds_of(stack, user, child) == ["cancelled"]

    assert post(stack, user, f"/{root}/cancel").status_code == 200  # repeat: unchanged
    retry = post(stack, user, f"/{root}/retry")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "conflict"
    assert post(stack, user, f"/{root}/cancel", {"bogus": 1}).status_code == 400


def test_retry_a_failed_task(stack: PlatformHandle) -> None:
    user = stack.create_user()
    # The scripted provider refuses every attempt for good: each run ends failed.
    task_id = created_id(create(stack, user, scripted("refused", {"fail_permanent": True})))
    wait_status(stack, task_id, TERMINAL)
    failed = get(stack, user, f"/{task_id}").json()["data"]["task"]
    assert failed["status"] == "failed", failed
    assert "scripted permanent failure" in failed["error"]
    retried = post(stack, user, f"/{task_id}/retry")
    assert retried.status_code == 200, retried.text
    task = retried.json()["data"]["task"]
    assert task["status"] == "queued" and task["attempts"] == 1 and "error" not in task
    assert task["retries"] == 1 and task["retriedAtAttempt"] == 1
    first_run = ["queued", "started", "failed"]
    assert kinds_of(stack, user, task_id)[:4] == [*first_run, "retried"]
    # Re-dispatched: the runtime runs it again (and the provider refuses again).
    wait_until(lambda: len(stored_kinds(stack, task_id)) >= 6, RUN_TIMEOUT, POLL_S)
    assert kinds_of(stack, user, task_id) == [*first_run, "retried", "started", "failed"]
    assert load(stack, task_id).attempts == 2


# --- dispatch through the real trigger and topic ---------------------------------------------


class DispatchMessages:
    """Messages published on the dispatch topic since it was created (a pull subscription of
    its own, beside the runtime's push subscription)."""

    def __init__(self, stack: PlatformHandle) -> None:
        import google.cloud.pubsub_v1 as pubsub_v1
        from google.api_core.exceptions import AlreadyExists

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
        self.message_ids: dict[str, list[str]] = {}

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
            for received in response.received_messages:
                body = json.loads(received.message.data)
                self.received.append(body)
                self.message_ids.setdefault(body["taskId"], []).append(received.message.message_id)
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
    # a and b run side by side and finish close together: two completions that race to
    # dispatch `joined`, each of them (like every trigger and push) delivered twice.
    side_by_side = {"steps": 2, "latency": 0.5}
    with stack.duplicate_delivery():
        a = created_id(create(stack, user, scripted("task a", side_by_side)))
        b = created_id(create(stack, user, scripted("task b", side_by_side)))
        joined = created_id(
            create(stack, user, scripted("joined", {"steps": 1}, dependencies=[a, b]))
        )
        finished = {task_id: wait_status(stack, task_id, TERMINAL) for task_id in (a, b, joined)}
        assert stack.wait_idle(60)
        for task_id in (a, b):  # a completion reported again changes and dispatches nothing
            assert complete_task(stack.db, task_id).is_noop
        counts = wait_for_counts(stack, dispatch_messages, {a: 1, b: 1, joined: 1})
    assert counts == Counter({a: 1, b: 1, joined: 1})

    # The runtime's worker was pushed every dispatch twice, and ran each task once.
    pushed: Counter[str] = Counter()
    for delivery in stack.deliveries():
        if delivery["ok"]:
            pushed[delivery["messageId"]] += 1
    for task_id, task in finished.items():
        (message_id,) = dispatch_messages.message_ids[task_id]
        assert pushed[message_id] >= 2, (task_id, pushed)
        assert task.status.value == "completed" and task.attempts == 1, task
        kinds = kinds_of(stack, user, task_id)
        assert kinds.count("queued") == kinds.count("started") == kinds.count("completed") == 1
    # `joined` was dispatched only once both of its dependencies had completed.
    assert finished[joined].started_at is not None
    for dependency in (a, b):
        assert finished[dependency].completed_at <= finished[joined].started_at  # type: ignore[operator]
