"""The `health` function rendered through main.py with a Flask test request.

Firestore is the real (emulated) one; Pub/Sub and Storage checks point at a closed port or are
stand-in callables, since what is under test here is the rendering: status codes, shape, latency
and the time bound. The whole stack answering 200 is covered by the end-to-end tests.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

import main
from aide import config
from aide.entrypoints import health as health_entry
from aide.services.health import Check, firestore_check
from emulators.stack.ports import free_port

app = Flask(__name__)


def _ok(timeout: float) -> None:
    return None


def _unreachable(timeout: float) -> None:
    # A closed local port: connection refused, like a service that is down.
    socket.create_connection(("127.0.0.1", free_port()), timeout=timeout).close()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Check]]:
    configured: dict[str, Check] = {"firestore": _ok, "pubsub": _ok, "storage": _ok}
    monkeypatch.setattr(health_entry, "checks_factory", lambda: configured)
    # Every call runs the checks here; reusing a report is test_health_cache's business.
    monkeypatch.setattr(health_entry, "report_ttl_seconds", 0.0)
    yield configured


def _get_health() -> tuple[int, dict[str, Any]]:
    with app.test_request_context("/", method="GET"):
        from flask import request

        response = main.health(request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_healthy_when_every_check_passes(checks: dict[str, Check], fs_client: Any) -> None:
    checks["firestore"] = firestore_check(fs_client)
    status, body = _get_health()
    assert status == 200
    assert body["success"] is True
    assert body["data"]["version"] == config.VERSION
    assert set(body["data"]["checks"]) == {"firestore", "pubsub", "storage"}
    for check in body["data"]["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["latencyMs"], int | float) and check["latencyMs"] >= 0


def test_503_with_the_same_shape_when_a_service_is_down(checks: dict[str, Check]) -> None:
    checks["pubsub"] = _unreachable
    status, body = _get_health()
    assert status == 503
    assert body["success"] is True
    assert body["data"]["checks"]["firestore"]["ok"] is True
    pubsub = body["data"]["checks"]["pubsub"]
    assert pubsub["ok"] is False and "ConnectionRefusedError" in pubsub["error"]


def test_a_hung_service_is_reported_within_the_deadline(
    checks: dict[str, Check], monkeypatch: pytest.MonkeyPatch
) -> None:
    def hang(timeout: float) -> None:
        time.sleep(5)

    monkeypatch.setattr(health_entry, "timeout_seconds", 0.3)
    checks["storage"] = hang
    started = time.perf_counter()
    status, body = _get_health()
    assert time.perf_counter() - started < 3
    assert status == 503
    storage = body["data"]["checks"]["storage"]
    assert (storage["ok"], storage["error"]) == (False, "timed out")
    assert storage["latencyMs"] >= 300


def test_only_get_is_allowed(checks: dict[str, Check]) -> None:
    with app.test_request_context("/", method="POST"):
        from flask import request

        response = main.health(request)
    assert response.status_code == 405
