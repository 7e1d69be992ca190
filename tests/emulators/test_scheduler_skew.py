"""A run forced with a schedule time (a late run, or one from a skewed clock) sends it as
X-CloudScheduler-ScheduleTime whatever the schedule's syntax; without one, App Engine schedules
send none (as Cloud Scheduler does)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from emulators.scheduler import ScheduledJob, Scheduler


@pytest.fixture
def received() -> Iterator[tuple[str, list[dict[str, str]]]]:
    headers: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            headers.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sweep", headers
    server.shutdown()
    server.server_close()


def test_forced_schedule_time_is_sent(received: tuple[str, list[dict[str, str]]]) -> None:
    url, headers = received
    job = ScheduledJob(name="sweep", schedule="every 1 minutes", time_zone=None, url=url)
    scheduler = Scheduler([job])
    assert scheduler.run_now("sweep") == 200
    skewed = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert scheduler.run_now("sweep", skewed) == 200
    assert "x-cloudscheduler-scheduletime" not in headers[0]
    assert headers[1]["x-cloudscheduler-scheduletime"] == "2030-01-02T03:04:05Z"
