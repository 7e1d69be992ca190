"""Injected push faults of the Pub/Sub emulator: a 503 that never reaches the function, and a
delivery whose answer is lost (the function ran, the emulator saw a timeout); both retried as
real failures are, counted, and switched on and off over the admin API."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from google.cloud import pubsub_v1

from emulators.pubsub import PubSubEmulator
from tests.emulators.test_pubsub_push import (
    MAX_ATTEMPTS,
    SETTLE_SECONDS,
    FunctionStandIn,
    emulator,  # noqa: F401  (fixtures)
    function,  # noqa: F401
    project,  # noqa: F401
    publisher,  # noqa: F401
    subscribe,
)


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
