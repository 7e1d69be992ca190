"""Runs scheduled jobs on time by POSTing to their URL as Cloud Scheduler does.

One thread sleeps until the earliest next run (no polling), starts each due run on its own thread
so a slow function delays no other job, then sleeps again. Runs missed while the process could not
run (a suspended laptop) are not caught up: a job fires once, then continues from now.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from typing import Any

from emulators.json_log import JsonLog
from emulators.scheduler.clock import Clock, SystemClock
from emulators.scheduler.jobs import ScheduledJob
from emulators.scheduler.schedules import Schedule, is_unix_cron, parse_schedule

# Targets are local functions: an HTTP(S)_PROXY from the environment must not reroute them.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Scheduler:
    def __init__(
        self,
        jobs: Iterable[ScheduledJob] = (),
        clock: Clock | None = None,
        log: JsonLog | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._log = log or JsonLog("scheduler")
        self._jobs: dict[str, ScheduledJob] = {}
        for job in jobs:
            if job.name in self._jobs:
                raise ValueError(f"duplicate job name {job.name}")
            parse_schedule(job.schedule, job.time_zone)  # rejects bad schedules up front
            self._jobs[job.name] = job
        self._stop = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._runs: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._history: list[dict[str, Any]] = []
        self._next_runs: dict[str, dt.datetime] = {}

    # Lifecycle

    def start(self) -> Scheduler:
        if self._loop_thread is not None:
            raise RuntimeError("scheduler already started")
        self._stop.clear()
        self._loop_thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._loop_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._clock.wake()
        if self._loop_thread is not None:
            self._loop_thread.join(timeout)
            self._loop_thread = None
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.join(timeout)

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Inspection

    def jobs(self) -> list[ScheduledJob]:
        return list(self._jobs.values())

    def next_runs(self) -> dict[str, dt.datetime]:
        """When each job runs next (empty until started)."""
        with self._lock:
            return dict(self._next_runs)

    def history(self) -> list[dict[str, Any]]:
        """Every attempt: job, scheduleTime, manual, attempt, status, ok, error, time."""
        with self._lock:
            return [dict(entry) for entry in self._history]

    # Running

    def run_now(self, name: str, schedule_time: dt.datetime | None = None) -> int:
        """Runs job `name` once, now, without retries; returns the function's HTTP status.

        `schedule_time` is sent as X-CloudScheduler-ScheduleTime whatever the schedule's
        syntax: a run that is late, or early as a skewed clock would make it (fault injection).
        Raises KeyError for an unknown job and ConnectionError when the function cannot be
        reached.
        """
        job = self._jobs[name]
        status, error = self._post(
            job,
            schedule_time or self._clock.now(),
            manual=True,
            attempt=1,
            force_schedule_time=schedule_time is not None,
        )
        if status is None:
            raise ConnectionError(f"job {name}: {error}")
        return status

    def _loop(self) -> None:
        started = self._clock.now()
        schedules: dict[str, Schedule] = {
            name: parse_schedule(job.schedule, job.time_zone, started)
            for name, job in self._jobs.items()
        }
        next_runs = {name: schedule.next_after(started) for name, schedule in schedules.items()}
        while not self._stop.is_set():
            with self._lock:
                self._next_runs = dict(next_runs)
            if not next_runs:
                self._stop.wait()
                break
            now = self._clock.now()
            for name, due in list(next_runs.items()):
                if due <= now:
                    self._spawn(self._jobs[name], due)
                    next_runs[name] = schedules[name].next_after(max(due, now))
            earliest = min(next_runs.values())
            if earliest > now:
                self._clock.sleep_until(earliest, self._stop)

    def _spawn(self, job: ScheduledJob, schedule_time: dt.datetime) -> None:
        run = threading.Thread(
            target=self._run_with_retries,
            args=(job, schedule_time),
            name=f"scheduler-run-{job.name}",
            daemon=True,
        )
        with self._lock:
            self._runs.add(run)
        run.start()

    def _run_with_retries(self, job: ScheduledJob, schedule_time: dt.datetime) -> None:
        try:
            first = self._clock.now()
            attempt = 1
            while not self._stop.is_set():
                status, _ = self._post(job, schedule_time, manual=False, attempt=attempt)
                if status is not None and 200 <= status < 300:
                    return
                elapsed = (self._clock.now() - first).total_seconds()
                out_of_time = job.max_retry_seconds and elapsed >= job.max_retry_seconds
                if attempt > job.retry_count or out_of_time:
                    return
                self._stop.wait(job.backoff(attempt))
                attempt += 1
        finally:
            with self._lock:
                self._runs.discard(threading.current_thread())

    def _post(
        self,
        job: ScheduledJob,
        schedule_time: dt.datetime,
        manual: bool,
        attempt: int,
        force_schedule_time: bool = False,
    ) -> tuple[int | None, str | None]:
        trace_id = uuid.uuid4().hex
        headers = {
            "User-Agent": "Google-Cloud-Scheduler",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": job.name,
            "X-Cloud-Trace-Context": f"{trace_id}/1;o=1",
        }
        if force_schedule_time or is_unix_cron(job.schedule):
            headers["X-CloudScheduler-ScheduleTime"] = rfc3339(schedule_time)
        request = urllib.request.Request(job.url, data=b"", headers=headers, method="POST")
        status: int | None
        error: str | None = None
        try:
            with _DIRECT.open(request, timeout=job.attempt_deadline_seconds) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as failure:
            status, error = failure.code, failure.read(2000).decode("utf-8", "replace")
            failure.close()
        except (urllib.error.URLError, OSError) as failure:
            status, error = None, f"{type(failure).__name__}: {getattr(failure, 'reason', failure)}"
        ok = status is not None and 200 <= status < 300
        entry = {
            "job": job.name,
            "scheduleTime": rfc3339(schedule_time),
            "manual": manual,
            "attempt": attempt,
            "status": status,
            "ok": ok,
            "error": error,
            "time": rfc3339(self._clock.now()),
        }
        with self._lock:
            self._history.append(entry)
        self._log.write(
            "INFO" if ok else "ERROR",
            f"scheduled job {job.name} {'ran' if ok else 'failed'}",
            **{k: v for k, v in entry.items() if k != "time"},
            trace=trace_id,
        )
        return status, error


def rfc3339(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    spec = "seconds" if utc.microsecond == 0 else "milliseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
