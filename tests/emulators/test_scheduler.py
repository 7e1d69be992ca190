"""The local scheduler, driving a real `scheduler_fn.on_schedule` function served by flask."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import flask
import pytest
from firebase_functions import scheduler_fn
from werkzeug.serving import make_server

from emulators.scheduler import (
    ManualClock,
    ScheduledJob,
    Scheduler,
    SystemClock,
    firebase_job_name,
    parse_schedule,
)
from emulators.stack.ports import free_port

UTC = dt.UTC
WAIT_SECONDS = 10.0


class ScheduledFunction:
    """A `scheduler_fn.on_schedule` function on a local port, the way Cloud Run would serve it."""

    def __init__(self) -> None:
        self.events: list[scheduler_fn.ScheduledEvent] = []
        self.headers: list[dict[str, str]] = []
        self.fail = False
        self._changed = threading.Condition()

        @scheduler_fn.on_schedule(schedule="*/5 * * * *")
        def tick(event: scheduler_fn.ScheduledEvent) -> None:
            if self.fail:
                raise RuntimeError("the function failed")
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()

        app = flask.Flask("scheduled-function")

        @app.post("/")
        def entry() -> Any:
            with self._changed:
                self.headers.append(dict(flask.request.headers.items()))
                self._changed.notify_all()
            return tick(flask.request)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def function() -> Iterator[ScheduledFunction]:
    served = ScheduledFunction()
    yield served
    served.close()


def wait_for_history(scheduler: Scheduler, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while len(scheduler.history()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return scheduler.history()


# Schedules


def at(text: str, zone: str = "UTC") -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_cron_schedule_honours_its_time_zone() -> None:
    schedule = parse_schedule("0 9 * * *", "Europe/Paris")
    following = schedule.next_after(at("2026-07-01T08:00:00"))  # 10:00 in Paris
    assert following == at("2026-07-02T09:00:00", "Europe/Paris")
    assert following.astimezone(UTC) == at("2026-07-02T07:00:00")


def test_app_engine_schedules() -> None:
    started = at("2026-01-01T10:02:30")
    every_five = parse_schedule("every 5 minutes", None, started)
    assert every_five.next_after(started) == at("2026-01-01T10:07:30")
    assert every_five.next_after(at("2026-01-01T10:07:30")) == at("2026-01-01T10:12:30")

    synchronized = parse_schedule("every 2 hours synchronized", None)
    assert synchronized.next_after(started) == at("2026-01-01T12:00:00")

    window = parse_schedule("every 30 mins from 09:00 to 10:00", None)
    assert window.next_after(at("2026-01-01T09:10:00")) == at("2026-01-01T09:30:00")
    assert window.next_after(at("2026-01-01T10:00:00")) == at("2026-01-02T09:00:00")

    assert parse_schedule("every day 00:00", None).next_after(started) == at("2026-01-02T00:00:00")
    # 2026-01-01 is a Thursday.
    weekly = parse_schedule("every mon,friday 09:15", "UTC")
    assert weekly.next_after(started) == at("2026-01-02T09:15:00")
    assert weekly.next_after(at("2026-01-02T09:15:00")) == at("2026-01-05T09:15:00")


@pytest.mark.parametrize(
    "schedule", ["every 2nd monday of march 17:00", "61 * * * *", "soon", "* * * * * *"]
)
def test_unsupported_schedules_are_rejected(schedule: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(schedule, None)
    with pytest.raises(ValueError):
        Scheduler([ScheduledJob("bad", schedule, None, "http://127.0.0.1:9/")])


def test_job_from_manifest_schedule_trigger() -> None:
    @scheduler_fn.on_schedule(
        schedule="every 10 minutes",
        timezone=scheduler_fn.Timezone("Europe/Paris"),
        retry_count=3,
        min_backoff_seconds=2,
    )
    def housekeeping(event: scheduler_fn.ScheduledEvent) -> None:
        pass

    endpoint = dataclasses.asdict(housekeeping.__firebase_endpoint__)  # type: ignore[attr-defined]
    job = ScheduledJob.from_schedule_trigger(
        firebase_job_name("housekeeping", "us-central1"),
        endpoint["scheduleTrigger"],
        "http://127.0.0.1:5001/demo-aide/us-central1/housekeeping",
    )
    assert job.name == "firebase-schedule-housekeeping-us-central1"
    assert (job.schedule, job.time_zone) == ("every 10 minutes", "Europe/Paris")
    assert (job.retry_count, job.min_backoff_seconds) == (3, 2.0)
    assert job.max_backoff_seconds == 3600.0  # unset options (sentinels) fall back to defaults
    assert [job.backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


# Running on schedule


def test_cron_job_fires_when_due_and_not_before(function: ScheduledFunction) -> None:
    clock = ManualClock(at("2026-03-10T12:01:30"))
    job = ScheduledJob(firebase_job_name("tick", "us-central1"), "*/5 * * * *", None, function.url)
    with Scheduler([job], clock=clock) as scheduler:
        assert clock.wait_for_sleeper(WAIT_SECONDS) == at("2026-03-10T12:05:00")
        assert scheduler.next_runs() == {job.name: at("2026-03-10T12:05:00")}

        clock.set(at("2026-03-10T12:04:59"))
        assert clock.wait_for_sleeper(WAIT_SECONDS) == at("2026-03-10T12:05:00")
        assert scheduler.history() == []

        clock.set(at("2026-03-10T12:05:00"))
        assert function.wait_for(lambda: len(function.events) == 1)
        assert clock.wait_for_sleeper(WAIT_SECONDS) == at("2026-03-10T12:10:00")

        # A long gap (a suspended laptop) yields one run, not one per missed slot.
        clock.set(at("2026-03-10T12:31:00"))
        assert function.wait_for(lambda: len(function.events) == 2)
        assert clock.wait_for_sleeper(WAIT_SECONDS) == at("2026-03-10T12:35:00")

    first, second = function.events
    assert first.job_name == "firebase-schedule-tick-us-central1"
    assert first.schedule_time == at("2026-03-10T12:05:00")
    assert second.schedule_time == at("2026-03-10T12:10:00")
    headers = function.headers[0]
    assert headers["X-Cloudscheduler"] == "true"
    assert headers["X-Cloudscheduler-Scheduletime"] == "2026-03-10T12:05:00Z"
    assert headers["User-Agent"] == "Google-Cloud-Scheduler"
    assert [(h["job"], h["manual"], h["status"]) for h in scheduler.history()] == [
        (job.name, False, 200),
        (job.name, False, 200),
    ]


def test_job_fires_on_the_real_clock(function: ScheduledFunction) -> None:
    class NearlyNextMinute(SystemClock):
        """The system clock shifted so that the next whole minute is half a second away."""

        def __init__(self) -> None:
            real = dt.datetime.now(UTC)
            target = real.replace(second=59, microsecond=500_000)
            self.shift = target - real

        def now(self) -> dt.datetime:
            return super().now() + self.shift

    clock = NearlyNextMinute()
    job = ScheduledJob("every-minute", "* * * * *", "UTC", function.url)
    started = time.monotonic()
    with Scheduler([job], clock=clock):
        assert function.wait_for(lambda: len(function.events) == 1)
    assert time.monotonic() - started < WAIT_SECONDS
    assert function.events[0].schedule_time.second == 0
    assert function.events[0].job_name == "every-minute"


def test_failed_run_is_retried_with_backoff(function: ScheduledFunction) -> None:
    function.fail = True
    clock = ManualClock(at("2026-03-10T12:00:30"))
    job = ScheduledJob(
        "flaky", "* * * * *", None, function.url, retry_count=2, min_backoff_seconds=0.05
    )
    with Scheduler([job], clock=clock) as scheduler:
        clock.wait_for_sleeper(WAIT_SECONDS)
        clock.set(at("2026-03-10T12:01:00"))
        history = wait_for_history(scheduler, 3)
    assert [(h["attempt"], h["status"]) for h in history] == [(1, 500), (2, 500), (3, 500)]
    assert all(h["scheduleTime"] == "2026-03-10T12:01:00Z" for h in history)


def test_app_engine_syntax_sends_no_schedule_time(function: ScheduledFunction) -> None:
    clock = ManualClock(at("2026-03-10T12:00:00"))
    job = ScheduledJob("interval", "every 5 minutes", None, function.url)
    with Scheduler([job], clock=clock):
        assert clock.wait_for_sleeper(WAIT_SECONDS) == at("2026-03-10T12:05:00")
        clock.set(at("2026-03-10T12:05:00"))
        assert function.wait_for(lambda: len(function.events) == 1)
    assert "X-Cloudscheduler-Scheduletime" not in function.headers[0]
    # Without the header the SDK uses the time of execution, which is the real clock here.
    assert abs((function.events[0].schedule_time - dt.datetime.now(UTC)).total_seconds()) < 60


# Running on request


def test_run_now_posts_what_cloud_scheduler_sends(function: ScheduledFunction) -> None:
    job = ScheduledJob(firebase_job_name("tick", "europe-west1"), "0 3 * * *", None, function.url)
    scheduler = Scheduler([job])  # not started: run_now needs no schedule thread
    assert scheduler.jobs() == [job]
    assert scheduler.run_now(job.name) == 200
    (event,) = function.events
    assert event.job_name == "firebase-schedule-tick-europe-west1"
    assert abs((event.schedule_time - dt.datetime.now(UTC)).total_seconds()) < 60
    assert scheduler.history()[0]["manual"] is True

    function.fail = True
    assert scheduler.run_now(job.name) == 500
    with pytest.raises(KeyError):
        scheduler.run_now("no-such-job")


def test_run_now_reports_an_unreachable_function() -> None:
    port = free_port()
    scheduler = Scheduler([ScheduledJob("gone", "* * * * *", None, f"http://127.0.0.1:{port}/")])
    with pytest.raises(ConnectionError):
        scheduler.run_now("gone")


def test_stop_returns_promptly_while_sleeping() -> None:
    scheduler = Scheduler([ScheduledJob("yearly", "0 0 1 1 *", None, "http://127.0.0.1:9/")])
    scheduler.start()
    started = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - started < 2
