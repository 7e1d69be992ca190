"""Anonymous health calls are cheap whatever their number: one instance runs the dependency
checks at most once per report_ttl_seconds, concurrent callers included, and runs them again
once the report is older than that."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

import main
from aide.entrypoints import health as health_entry

app = Flask(__name__)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Each entry: when the (slow) Firestore check ran."""
    ran: list[float] = []

    def firestore(timeout: float) -> None:
        ran.append(time.monotonic())
        time.sleep(0.05)

    def ok(timeout: float) -> None:
        return None

    checks = {"firestore": firestore, "pubsub": ok, "storage": ok}
    monkeypatch.setattr(health_entry, "checks_factory", lambda: checks)
    monkeypatch.setattr(health_entry, "_last_report", None)
    monkeypatch.setattr(health_entry, "report_ttl_seconds", 0.5)
    yield ran


def get_health() -> tuple[int, Any]:
    with app.test_request_context("/", method="GET"):
        from flask import request

        response = main.health(request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_many_concurrent_anonymous_calls_run_the_checks_once(runs: list[float]) -> None:
    answers: list[int] = []

    def call() -> None:
        answers.append(get_health()[0])

    threads = [threading.Thread(target=call) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 30
    assert len(runs) == 1


def test_the_checks_run_again_once_the_report_is_stale(runs: list[float]) -> None:
    for _ in range(5):
        assert get_health()[0] == 200
    assert len(runs) == 1
    time.sleep(0.6)
    assert get_health()[0] == 200
    assert len(runs) == 2
