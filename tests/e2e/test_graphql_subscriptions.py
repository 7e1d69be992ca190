"""GraphQL subscriptions over server-sent events, followed by the real `graphql-sse` client from
Node (distinct connections mode) and by hand-made requests: a subscription that sees a task go
to completed and then completes, reconnects across short stream windows without losing or
repeating anything, authorization at subscribe time, and agent status changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from emulators.stack.stack import REPO_ROOT
from tests.fixtures.stack import AuthUser, PlatformHandle
from tests.support.sse import EventReader

NODE_CLIENT = REPO_ROOT / "tests" / "e2e" / "node" / "graphql_sse_subscribe.mjs"
DESCRIPTION = "A description that is long enough."
TIMEOUT = 60


class NodeSubscriber:
    """The graphql-sse client in a Node process; its JSON lines collected by a thread."""

    def __init__(self, url: str, user: AuthUser, query: str, variables: dict[str, Any]) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GRAPHQL_URL": url,
            "AUTHORIZATION": user.headers["Authorization"],
            "QUERY": query,
            "VARIABLES": json.dumps(variables),
        }
        node = shutil.which("node") or "node"
        self.process = subprocess.Popen(
            [node, str(NODE_CLIENT)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self.lines.append(json.loads(line))

    def wait(self, timeout: float = 120) -> list[dict[str, Any]]:
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._thread.join(timeout=10)
        return self.lines

    def results(self) -> list[dict[str, Any]]:
        return [line["result"] for line in list(self.lines) if line["type"] == "next"]

    def wait_for_results(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.results()) < count:
            assert self.process.poll() is None or len(self.results()) >= count, self.lines
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.05)


@pytest.fixture
def subscribers() -> Iterator[list[NodeSubscriber]]:
    started: list[NodeSubscriber] = []
    yield started
    for subscriber in started:
        if subscriber.process.poll() is None:
            subscriber.process.kill()


def create_task(stack: PlatformHandle, user: AuthUser, **fields: Any) -> dict[str, Any]:
    body = {"title": "Subscribed", "description": DESCRIPTION, "agentId": "coder", **fields}
    response = stack.http.post(stack.url("tasks"), json=body, headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"]["task"])


def test_task_updated_sees_completion_then_completes_across_reconnects(
    platform: PlatformHandle, subscribers: list[NodeSubscriber]
) -> None:
    user = platform.create_user()
    # A run of a few seconds, so that the 2 s windows make the client reconnect on the way.
    task = create_task(platform, user, inputs={"providerOptions": {"steps": 3, "latency": 1.5}})
    subscriber = NodeSubscriber(
        platform.url("graphql") + "?window=2",
        user,
        "subscription($id: ID!) { taskUpdated(id: $id) { id status progress updatedAt } }",
        {"id": task["id"]},
    )
    subscribers.append(subscriber)
    lines = subscriber.wait(timeout=120)
    assert lines[-1] == {"type": "complete"}, lines
    results = subscriber.results()
    statuses = [r["data"]["taskUpdated"]["status"] for r in results]
    assert statuses[-1] == "COMPLETED" and "COMPLETED" not in statuses[:-1], statuses
    updated = [r["data"]["taskUpdated"]["updatedAt"] for r in results]
    assert updated == sorted(set(updated)), "a state was sent twice or out of order"
    assert [line["retry"] for line in lines if line["type"] == "connected"].count(True) >= 1
    rest = platform.http.get(
        platform.url("tasks", f"/{task['id']}"), headers=user.headers, timeout=TIMEOUT
    ).json()["data"]["task"]
    assert results[-1]["data"]["taskUpdated"]["updatedAt"] == rest["updatedAt"]


def test_task_events_lose_and_repeat_nothing_across_reconnects(
    platform: PlatformHandle, subscribers: list[NodeSubscriber]
) -> None:
    user = platform.create_user()
    task = create_task(platform, user, inputs={"providerOptions": {"steps": 4, "latency": 1.0}})
    subscriber = NodeSubscriber(
        platform.url("graphql") + "?window=1.5",
        user,
        "subscription($id: ID!) { taskEvents(taskId: $id) { id kind toStatus } }",
        {"id": task["id"]},
    )
    subscribers.append(subscriber)
    lines = subscriber.wait(timeout=120)
    assert lines[-1] == {"type": "complete"}, lines
    streamed = [r["data"]["taskEvents"]["id"] for r in subscriber.results()]
    listed = platform.http.get(
        platform.url("tasks", f"/{task['id']}/events"), headers=user.headers, timeout=TIMEOUT
    ).json()["data"]["events"]
    assert streamed == [event["id"] for event in listed]
    assert subscriber.results()[-1]["data"]["taskEvents"]["toStatus"] == "COMPLETED"
    assert sum(1 for line in lines if line["type"] == "connected") >= 2


def subscribe_raw(
    stack: PlatformHandle, user: AuthUser, query: str, variables: dict[str, Any], window: int = 20
) -> EventReader:
    response = requests.post(
        stack.url("graphql"),
        params={"window": window},
        json={"query": query, "variables": variables},
        headers={**user.headers, "Accept": "text/event-stream"},
        stream=True,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return EventReader(response)


def test_authorization_is_checked_at_subscribe_time(stack: PlatformHandle) -> None:
    owner, stranger = stack.create_user(), stack.create_user()
    task = create_task(stack, owner, inputs={"providerOptions": {"steps": 1, "latency": 300}})
    for query in (
        "subscription($id: ID!) { taskUpdated(id: $id) { id } }",
        "subscription($id: ID!) { taskEvents(taskId: $id) { id } }",
        "subscription($id: ID!) { taskGroupUpdated(id: $id) { id } }",
    ):
        reader = subscribe_raw(stack, stranger, query, {"id": task["id"]})
        first, end = reader.next(30), reader.next(30)
        assert first is not None and first.event == "next"
        assert first.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert end is not None and end.event == "complete"
    stack.http.post(stack.url("tasks", f"/{task['id']}/cancel"), headers=owner.headers, timeout=60)
    # Without credentials: refused before any stream, as every request.
    anonymous = requests.post(
        stack.url("graphql"),
        json={"query": "subscription { agentStatusChanged { id } }"},
        headers={"Accept": "text/event-stream"},
        timeout=TIMEOUT,
    )
    assert anonymous.status_code == 401
    # A subscription asked for without the event-stream Accept header is a bad request.
    plain = stack.http.post(
        stack.url("graphql"),
        json={"query": "subscription { agentStatusChanged { id } }"},
        headers=owner.headers,
        timeout=TIMEOUT,
    )
    assert plain.status_code == 400


def test_agent_status_changes_and_keep_alive(platform: PlatformHandle) -> None:
    user = platform.create_user()
    reader = subscribe_raw(
        platform, user, "subscription { agentStatusChanged { id status } }", {}, window=15
    )
    try:
        # The listener's first snapshot (the agents as they are) sends no result.
        assert reader.listening.wait(30)
        platform.db.collection("agents").document("reviewer").update(
            {"status": "offline", "updatedAt": datetime.now(UTC)}
        )
        event, _ = reader.until(lambda e: e.event == "next", timeout=30)
        assert event.json()["data"]["agentStatusChanged"] == {"id": "reviewer", "status": "OFFLINE"}
        assert event.id == event.json()["extensions"]["cursor"]
    finally:
        reader.close()
