"""Dispatch through the transactional outbox to a real (emulated) Pub/Sub topic: every move to
`queued` becomes exactly one message, even when completions and trigger deliveries are repeated
and two dependencies complete at the same moment."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aide.adapters.pubsub_publisher import PubSubPublisher
from aide.domain import topics
from aide.domain.task_groups import TaskGroupCreate
from aide.domain.task_lifecycle import TaskStatus
from aide.services import task_groups, tasks
from aide.services.task_dispatch import publish_dispatch
from tests.integration.task_support import dispatch_records, load, task_payload
from tests.support.task_runs import claim_task, complete_task, fail_task

OWNER = "user-owner"
PULL_TIMEOUT_S = 60.0


@contextlib.contextmanager
def pubsub_env(address: str) -> Iterator[None]:
    # Pub/Sub clients read the emulator host once, when constructed.
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


@pytest.fixture(scope="module")
def pubsub() -> Iterator[Any]:
    from emulators.pubsub import PubSubEmulator

    with PubSubEmulator() as emulator:
        yield emulator


class DispatchTopic:
    """The dispatch topic of one test project, with a pull subscription that sees everything
    published to it."""

    def __init__(self, address: str, project: str) -> None:
        from google.cloud import pubsub_v1

        with pubsub_env(address):
            self.publisher_client = pubsub_v1.PublisherClient()
            self.subscriber = pubsub_v1.SubscriberClient()
        self.publisher = PubSubPublisher(client=self.publisher_client, project=project)
        self.publisher.ensure_topic(topics.TASK_DISPATCH)
        self.subscription = f"projects/{project}/subscriptions/count-{uuid.uuid4().hex[:8]}"
        self.subscriber.create_subscription(
            request={
                "name": self.subscription,
                "topic": f"projects/{project}/topics/{topics.TASK_DISPATCH}",
            }
        )
        self.received: list[dict[str, Any]] = []

    def drain(self, expected: int, *, settle_s: float = 1.0) -> Counter[str]:
        """Pull until `expected` messages arrived and nothing more shows up for `settle_s`;
        returns messages per task id."""
        import json

        deadline = time.monotonic() + PULL_TIMEOUT_S
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            response = self.subscriber.pull(
                request={
                    "subscription": self.subscription,
                    "max_messages": 100,
                    "return_immediately": True,
                },
                timeout=30,
            )
            if response.received_messages:
                quiet_since = None
                for received in response.received_messages:
                    self.received.append(json.loads(received.message.data))
                self.subscriber.acknowledge(
                    request={
                        "subscription": self.subscription,
                        "ack_ids": [r.ack_id for r in response.received_messages],
                    }
                )
                continue
            if len(self.received) >= expected:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    break
            else:
                time.sleep(0.05)
        return Counter(message["taskId"] for message in self.received)

    def close(self) -> None:
        self.subscriber.close()
        self.publisher_client.transport.close()


@pytest.fixture
def dispatch_topic(pubsub: Any, fs_project: str) -> Iterator[DispatchTopic]:
    topic = DispatchTopic(pubsub.address, fs_project)
    try:
        yield topic
    finally:
        topic.close()


def relay_everything(db: Any, topic: DispatchTopic, *, deliveries: int = 2) -> None:
    """What the outbox trigger does, with every trigger event delivered `deliveries` times,
    the copies concurrently."""
    records = [rid for ids in dispatch_records(db).values() for rid in ids]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda record_id: publish_dispatch(db, topic.publisher, record_id),
                records * deliveries,
            )
        )


def test_each_dispatch_is_published_once_with_its_ids(
    fs_client: Any, dispatch_topic: DispatchTopic
) -> None:
    task = tasks.create_task(fs_client, OWNER, task_payload()).task
    [record_id] = dispatch_records(fs_client)[task.id]
    assert publish_dispatch(fs_client, dispatch_topic.publisher, record_id) is True
    assert publish_dispatch(fs_client, dispatch_topic.publisher, record_id) is False
    assert dispatch_topic.drain(1) == Counter({task.id: 1})
    assert dispatch_topic.received == [
        {"taskId": task.id, "dispatchId": record_id, "userId": OWNER}
    ]
    assert publish_dispatch(fs_client, dispatch_topic.publisher, "no-such-record") is False


def _group(db: Any, specs: list[tuple[str, list[str]]]) -> dict[str, str]:
    payload = TaskGroupCreate.model_validate(
        {
            "tasks": [
                {
                    "ref": ref,
                    "title": f"Task {ref}",
                    "description": f"Work item {ref}, described.",
                    "dependencies": deps,
                }
                for ref, deps in specs
            ]
        }
    )
    group = task_groups.create_task_group(db, OWNER, payload).group
    return {member.ref: member.id for member in group.tasks}


def _twice_concurrently(calls: list[Callable[[], Any]]) -> None:
    """Every call made twice (a redelivered event), all of them released at the same moment."""
    barrier = threading.Barrier(len(calls) * 2)

    def run(call: Callable[[], Any]) -> None:
        barrier.wait(timeout=30)
        call()

    with ThreadPoolExecutor(max_workers=len(calls) * 2) as pool:
        for future in [pool.submit(run, call) for call in calls * 2]:
            future.result()


def test_concurrent_and_repeated_completions_dispatch_every_dependent_exactly_once(
    fs_client: Any, dispatch_topic: DispatchTopic
) -> None:
    # Four diamonds (x waits for both a and b) and a fan-out of 10 behind a0.
    specs: list[tuple[str, list[str]]] = []
    for i in range(4):
        specs += [(f"a{i}", []), (f"b{i}", []), (f"x{i}", [f"a{i}", f"b{i}"])]
    specs += [(f"fan{j}", ["a0"]) for j in range(10)]
    ids = _group(fs_client, specs)
    roots = [ids[f"{side}{i}"] for i in range(4) for side in "ab"]
    for task_id in roots:
        claim_task(fs_client, task_id)

    _twice_concurrently(
        [lambda task_id=task_id: complete_task(fs_client, task_id) for task_id in roots]
    )

    for ref, task_id in ids.items():
        expected = TaskStatus.COMPLETED if task_id in roots else TaskStatus.QUEUED
        assert load(fs_client, task_id).status is expected, ref
    # One outbox record per dispatch: roots at creation, the rest when released.
    assert {task_id: len(r) for task_id, r in dispatch_records(fs_client).items()} == {
        task_id: 1 for task_id in ids.values()
    }
    relay_everything(fs_client, dispatch_topic)
    assert dispatch_topic.drain(len(ids)) == Counter(dict.fromkeys(ids.values(), 1))


def test_three_levels_each_dispatched_once_in_order(
    fs_client: Any, dispatch_topic: DispatchTopic
) -> None:
    ids = _group(fs_client, [("l1", []), ("l2a", ["l1"]), ("l2b", ["l1"]), ("l3", ["l2a", "l2b"])])
    order: list[str] = []
    names = {task_id: ref for ref, task_id in ids.items()}
    delivered = 0
    while len(order) < len(ids):
        relay_everything(fs_client, dispatch_topic)
        counts = dispatch_topic.drain(delivered + 1, settle_s=0.3)
        fresh = [m["taskId"] for m in dispatch_topic.received[delivered:]]
        delivered = len(dispatch_topic.received)
        assert fresh, "nothing was dispatched"
        # The runtime's part: every delivery claimed (repeats are no-ops), then completed.
        _twice_concurrently([lambda t=t: claim_task(fs_client, t) for t in fresh])
        _twice_concurrently([lambda t=t: complete_task(fs_client, t) for t in fresh])
        order += sorted(names[t] for t in fresh)
    assert order == ["l1", "l2a", "l2b", "l3"]
    assert counts == Counter(dict.fromkeys(ids.values(), 1))


def test_failure_cancels_dependents_which_are_never_dispatched(
    fs_client: Any, dispatch_topic: DispatchTopic
) -> None:
    ids = _group(fs_client, [("a", []), ("b", []), ("c", ["a", "b"]), ("d", ["c"])])
    claim_task(fs_client, ids["a"])
    claim_task(fs_client, ids["b"])
    _twice_concurrently(
        [
            lambda: complete_task(fs_client, ids["a"]),
            lambda: fail_task(fs_client, ids["b"], error="bad input"),
        ]
    )
    assert load(fs_client, ids["c"]).status is TaskStatus.CANCELLED
    assert load(fs_client, ids["d"]).cancel_reason == f"dependency '{ids['c']}' was cancelled"
    relay_everything(fs_client, dispatch_topic)
    assert dispatch_topic.drain(2) == Counter({ids["a"]: 1, ids["b"]: 1})


def test_sweeper_publishes_dispatches_whose_trigger_was_lost(
    fs_client: Any, dispatch_topic: DispatchTopic
) -> None:
    from datetime import timedelta

    from aide.domain.timestamps import utc_now
    from aide.services.task_dispatch import republish_stale_dispatches

    lost = tasks.create_task(fs_client, OWNER, task_payload("lost trigger")).task
    relayed = tasks.create_task(fs_client, OWNER, task_payload("relayed")).task
    [relayed_record] = dispatch_records(fs_client)[relayed.id]
    assert publish_dispatch(fs_client, dispatch_topic.publisher, relayed_record)

    # Fresh records are left to their trigger.
    assert republish_stale_dispatches(fs_client, dispatch_topic.publisher) == 0
    later = lambda: utc_now() + timedelta(minutes=5)  # noqa: E731
    assert republish_stale_dispatches(fs_client, dispatch_topic.publisher, now=later) == 1
    assert republish_stale_dispatches(fs_client, dispatch_topic.publisher, now=later) == 0
    assert dispatch_topic.drain(2) == Counter({lost.id: 1, relayed.id: 1})
