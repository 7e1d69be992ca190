"""Push delivery of the Pub/Sub emulator to functions, as Eventarc delivers to Cloud Functions.

The receiving end is a stdlib HTTP server standing in for the function: it decodes each request
with `cloudevents.http.from_http` (what functions-framework does) and runs a handler decorated
with `firebase_functions.pubsub_fn.on_message_published`, so the tests prove the emulator's
requests are what the firebase SDK parses in production.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cloudevents.http import from_http
from firebase_functions import pubsub_fn
from firebase_functions.core import CloudEvent
from google.cloud import pubsub_v1

from emulators.pubsub import PubSubEmulator
from emulators.stack.ports import free_port

MIN_BACKOFF = 0.05
MAX_BACKOFF = 0.2
MAX_ATTEMPTS = 4
SETTLE_SECONDS = 20.0

Event = CloudEvent[pubsub_fn.MessagePublishedData[Any]]


class FunctionStandIn:
    """A Pub/Sub-triggered function on a local port; `answer` picks each response's status."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.answer: Callable[[Event], int] = lambda event: 200
        self._lock = threading.Lock()

        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                status = stand_in.receive(headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        raw = from_http(headers, body)
        parsed: list[Event] = []

        @pubsub_fn.on_message_published(topic="ignored-by-the-stand-in")
        def on_published(event: Event) -> None:
            parsed.append(event)

        on_published(raw)
        (event,) = parsed
        with self._lock:
            self.headers.append(headers)
            self.bodies.append(json.loads(body))
            self.received_at.append(time.monotonic())
            self.events.append(event)
        return self.answer(event)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[PubSubEmulator]:
    with PubSubEmulator(
        max_attempts=MAX_ATTEMPTS, min_backoff=MIN_BACKOFF, max_backoff=MAX_BACKOFF
    ) as running:
        yield running


@pytest.fixture
def function() -> Iterator[FunctionStandIn]:
    stand_in = FunctionStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def project(emulator: PubSubEmulator) -> Iterator[str]:
    name = f"demo-{uuid.uuid4().hex[:10]}"
    yield name
    emulator.set_duplicate_delivery(False)
    emulator.clear(name)


@pytest.fixture
def publisher(
    emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pubsub_v1.PublisherClient]:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.address)
    client = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    yield client
    client.stop()


def subscribe(
    emulator: PubSubEmulator, project: str, function: FunctionStandIn, retry: bool
) -> str:
    emulator.set_push_subscriptions(
        project, [{"name": "on-task", "topic": "tasks", "url": function.url, "retry": retry}]
    )
    return f"projects/{project}/topics/tasks"


def test_push_delivers_a_cloudevent_firebase_parses(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    topic = subscribe(emulator, project, function, retry=False)
    payload = {"taskId": "t-1", "n": 3}
    message_id = publisher.publish(
        topic, json.dumps(payload).encode(), origin="test", ordering_key="task-t-1"
    ).result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)

    assert len(function.events) == 1
    event = function.events[0]
    assert event.type == "google.cloud.pubsub.topic.v1.messagePublished"
    assert event.source == f"//pubsub.googleapis.com/projects/{project}/topics/tasks"
    assert event.id == message_id
    assert event.specversion == "1.0"
    assert event.time.tzinfo is not None
    data = event.data
    assert data.subscription == f"projects/{project}/subscriptions/on-task"
    assert data.message.message_id == message_id
    assert data.message.attributes == {"origin": "test"}
    assert data.message.ordering_key == "task-t-1"
    assert data.message.json == payload
    assert base64.b64decode(data.message.data) == json.dumps(payload).encode()
    assert abs(data.message.publish_time.timestamp() - time.time()) < 120

    # Binary content mode with Eventarc's headers and the body keys Eventarc sends.
    headers = {name.lower(): value for name, value in function.headers[0].items()}
    assert headers["content-type"] == "application/json"
    assert headers["ce-type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert headers["ce-id"] == message_id
    message = function.bodies[0]["message"]
    assert message["messageId"] == message["message_id"] == message_id
    assert message["publishTime"] == message["publish_time"]
    assert message["orderingKey"] == "task-t-1"

    assert emulator.deliveries(project) == [
        {
            "project": project,
            "subscription": f"projects/{project}/subscriptions/on-task",
            "topic": topic,
            "messageId": message_id,
            "orderingKey": "task-t-1",
            "copy": 1,
            "attempt": 1,
            "status": 200,
            "ok": True,
            "error": None,
            "time": emulator.deliveries(project)[0]["time"],
        }
    ]
    assert emulator.dead_letters(project) == []


def test_message_without_attributes_parses_with_empty_attributes(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    topic = subscribe(emulator, project, function, retry=False)
    publisher.publish(topic, b"plain").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    assert function.events[0].data.message.attributes == {}
    assert function.events[0].data.message.ordering_key is None


def test_retry_backs_off_then_dead_letters(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    function.answer = lambda event: 500
    topic = subscribe(emulator, project, function, retry=True)
    message_id = publisher.publish(topic, b"doomed", why="test").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)

    assert [event.id for event in function.events] == [message_id] * MAX_ATTEMPTS
    attempts = emulator.deliveries(project)
    assert [(a["attempt"], a["status"], a["ok"]) for a in attempts] == [
        (n, 500, False) for n in range(1, MAX_ATTEMPTS + 1)
    ]
    gaps = [
        later - earlier
        for earlier, later in zip(function.received_at, function.received_at[1:], strict=False)
    ]
    expected = [min(MAX_BACKOFF, MIN_BACKOFF * 2**n) for n in range(MAX_ATTEMPTS - 1)]
    assert all(gap >= wanted * 0.9 for gap, wanted in zip(gaps, expected, strict=True)), gaps

    (dead,) = emulator.dead_letters(project)
    assert dead["messageId"] == message_id
    assert dead["attempts"] == MAX_ATTEMPTS
    assert dead["lastStatus"] == 500
    assert base64.b64decode(dead["data"]) == b"doomed"
    assert dead["attributes"] == {"why": "test"}

    logged = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    errors = [entry for entry in logged if entry["severity"] == "ERROR"]
    assert len(errors) == 1
    assert "dead-lettered" in errors[0]["message"]
    assert errors[0]["messageId"] == message_id
    assert sum(entry["severity"] == "WARNING" for entry in logged) == MAX_ATTEMPTS - 1


def test_retry_succeeds_after_transient_failures(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    statuses = iter([503, 500])
    function.answer = lambda event: next(statuses, 204)
    topic = subscribe(emulator, project, function, retry=True)
    publisher.publish(topic, b"eventually").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    assert [a["status"] for a in emulator.deliveries(project)] == [503, 500, 204]
    assert emulator.dead_letters(project) == []


def test_without_retry_a_failure_is_logged_once(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    function.answer = lambda event: 500
    topic = subscribe(emulator, project, function, retry=False)
    message_id = publisher.publish(topic, b"once").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    time.sleep(MAX_BACKOFF * 2)  # a redelivery, were there one, would have been due by now
    assert emulator.wait_idle(SETTLE_SECONDS)

    assert len(function.events) == 1
    assert [a["attempt"] for a in emulator.deliveries(project)] == [1]
    assert emulator.dead_letters(project) == []
    logged = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    errors = [entry for entry in logged if entry["messageId"] == message_id]
    assert [entry["severity"] for entry in errors] == ["ERROR"]


def test_unreachable_function_is_retried_then_dead_lettered(
    emulator: PubSubEmulator, publisher: pubsub_v1.PublisherClient, project: str
) -> None:
    closed_port = free_port()
    emulator.set_push_subscriptions(
        project,
        [
            {
                "name": "on-task",
                "topic": "tasks",
                "url": f"http://127.0.0.1:{closed_port}/",
                "retry": True,
            }
        ],
    )
    publisher.publish(f"projects/{project}/topics/tasks", b"nobody home").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    attempts = emulator.deliveries(project)
    assert len(attempts) == MAX_ATTEMPTS
    assert all(a["status"] is None and "Connection" in a["error"] for a in attempts)
    (dead,) = emulator.dead_letters(project)
    assert dead["lastStatus"] is None


def test_duplicate_delivery_sends_each_message_twice(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    topic = subscribe(emulator, project, function, retry=True)
    emulator.set_duplicate_delivery(True)
    ids = [publisher.publish(topic, f"d{n}".encode()).result(timeout=30) for n in range(3)]
    assert emulator.wait_idle(SETTLE_SECONDS)
    assert sorted(event.id for event in function.events) == sorted(ids * 2)
    assert sorted((a["messageId"], a["copy"]) for a in emulator.deliveries(project)) == sorted(
        (message_id, copy) for message_id in ids for copy in (1, 2)
    )

    emulator.set_duplicate_delivery(False)
    publisher.publish(topic, b"single").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    assert len(function.events) == 7


def test_messages_sharing_an_ordering_key_arrive_in_order(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    failed_once: set[str] = set()
    lock = threading.Lock()

    def answer(event: Event) -> int:
        # Jitter lets unordered deliveries overtake each other; a failure of an early message
        # must hold back the later ones of its key until the retry succeeds.
        time.sleep(random.uniform(0, 0.02))
        with lock:
            body = event.data.message.json
            if body["n"] == 0 and body["key"] not in failed_once:
                failed_once.add(body["key"])
                return 500
        return 200

    function.answer = answer
    topic = subscribe(emulator, project, function, retry=True)
    futures = [
        publisher.publish(topic, json.dumps({"key": key, "n": n}).encode(), ordering_key=key)
        for n in range(8)
        for key in ("alpha", "beta")
    ]
    for future in futures:
        future.result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)

    delivered: dict[str, list[int]] = {"alpha": [], "beta": []}
    for event in function.events:
        body = event.data.message.json
        assert event.data.message.ordering_key == body["key"]
        delivered[body["key"]].append(body["n"])
    assert delivered == {"alpha": [0, *range(8)], "beta": [0, *range(8)]}


def test_push_subscriptions_replace_per_project(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    other = f"other-{uuid.uuid4().hex[:8]}"
    try:
        subscribe(emulator, project, function, retry=False)
        subscribe(emulator, other, function, retry=False)
        emulator.set_push_subscriptions(project, [])
        assert emulator.push_subscriptions(project) == []
        assert len(emulator.push_subscriptions(other)) == 1

        # The topic created for the dropped subscription stays; nothing is pushed any more.
        publisher.publish(f"projects/{project}/topics/tasks", b"to nobody").result(timeout=30)
        publisher.publish(f"projects/{other}/topics/tasks", b"to other").result(timeout=30)
        assert emulator.wait_idle(SETTLE_SECONDS)
        assert [base64.b64decode(e.data.message.data) for e in function.events] == [b"to other"]
        assert emulator.deliveries(project) == []
    finally:
        emulator.clear(other)


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read().decode()
            status = answer.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def test_admin_api(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    admin = emulator.admin_url
    assert http("GET", f"{admin}/") == (200, "Ok")

    spec = {"name": "on-task", "topic": "tasks", "url": function.url, "retry": True}
    status, body = http(
        "PUT",
        f"{admin}/emulator/v1/projects/{project}/pushSubscriptions",
        {"subscriptions": [spec]},
    )
    assert status == 200
    assert body["subscriptions"] == [
        {
            "name": f"projects/{project}/subscriptions/on-task",
            "topic": f"projects/{project}/topics/tasks",
            "url": function.url,
            "retry": True,
        }
    ]
    assert http("PUT", f"{admin}/emulator/v1/config", {"duplicateDelivery": True}) == (
        200,
        {"duplicateDelivery": True},
    )
    function.answer = lambda event: 500
    message_id = publisher.publish(f"projects/{project}/topics/tasks", b"x").result(timeout=30)
    assert http("POST", f"{admin}/emulator/v1/idle:wait?timeout=20") == (200, {"idle": True})

    status, body = http("GET", f"{admin}/emulator/v1/projects/{project}/deliveries")
    assert status == 200
    assert len(body["deliveries"]) == 2 * MAX_ATTEMPTS
    status, body = http("GET", f"{admin}/emulator/v1/projects/{project}/deadLetters")
    assert sorted((d["messageId"], d["copy"]) for d in body["deadLetters"]) == [
        (message_id, 1),
        (message_id, 2),
    ]
    assert http("PUT", f"{admin}/emulator/v1/config", {"duplicateDelivery": False})[0] == 200
    assert emulator.duplicate_delivery is False

    assert http("DELETE", f"{admin}/emulator/v1/projects/{project}") == (200, {})
    assert http("GET", f"{admin}/emulator/v1/projects/{project}/deliveries") == (
        200,
        {"deliveries": []},
    )
    assert http("GET", f"{admin}/emulator/v1/projects/{project}/pushSubscriptions") == (
        200,
        {"subscriptions": []},
    )
    bad = http(
        "PUT",
        f"{admin}/emulator/v1/projects/{project}/pushSubscriptions",
        {"subscriptions": [{"name": "x-sub", "topic": "tasks"}]},
    )
    assert bad[0] == 400
    assert http("GET", f"{admin}/emulator/v1/nothing")[0] == 404


def test_wait_idle_reports_pending_work(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    release = threading.Event()
    function.answer = lambda event: 200 if release.wait(20) else 500
    topic = subscribe(emulator, project, function, retry=False)
    publisher.publish(topic, b"slow").result(timeout=30)
    assert emulator.wait_idle(0.3) is False
    release.set()
    assert emulator.wait_idle(SETTLE_SECONDS) is True

def _config(emulator: PubSubEmulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{emulator.admin_url}/emulator/v1/faults",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="PUT" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def test_injected_failures_never_reach_the_function_and_dead_letter(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    topic = subscribe(emulator, project, function, retry=True)
    _config(emulator, {"pushFailureRate": 1.0, "faultSeed": 1})
    try:
        publisher.publish(topic, b"{}").result(timeout=30)
        assert emulator.wait_idle(SETTLE_SECONDS)
        assert function.events == []
        assert [d["status"] for d in emulator.deliveries(project)] == [503] * MAX_ATTEMPTS
        assert len(emulator.dead_letters(project)) == 1
        assert _config(emulator)["injectedFailures"] == MAX_ATTEMPTS
    finally:
        _config(emulator, {"pushFailureRate": 0.0, "pushTimeoutRate": 0.0})
    publisher.publish(topic, b"{}").result(timeout=30)
    assert emulator.wait_idle(SETTLE_SECONDS)
    assert len(function.events) == 1


def test_injected_timeout_delivers_then_retries(
    emulator: PubSubEmulator,
    publisher: pubsub_v1.PublisherClient,
    function: FunctionStandIn,
    project: str,
) -> None:
    topic = subscribe(emulator, project, function, retry=True)
    _config(emulator, {"pushTimeoutRate": 1.0})
    try:
        message_id = publisher.publish(topic, b"{}").result(timeout=30)
        assert emulator.wait_idle(SETTLE_SECONDS)
    finally:
        config = _config(emulator, {"pushFailureRate": 0.0, "pushTimeoutRate": 0.0})
    # The function ran on every attempt (at-least-once, same event id each time).
    assert [event.id for event in function.events] == [message_id] * MAX_ATTEMPTS
    assert all(d["status"] is None for d in emulator.deliveries(project))
    assert config["injectedTimeouts"] == MAX_ATTEMPTS
    assert config["pushTimeoutRate"] == 0.0


def test_fault_rates_out_of_range_are_refused(emulator: PubSubEmulator) -> None:
    request = urllib.request.Request(
        f"{emulator.admin_url}/emulator/v1/faults",
        data=json.dumps({"pushFailureRate": 1.5}).encode(),
        method="PUT",
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 400
    else:
        raise AssertionError("a failure rate of 1.5 was accepted")
