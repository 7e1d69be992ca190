"""Connects discovered event and scheduled functions to the local emulators, as deployment
connects them to Eventarc and Cloud Scheduler in the cloud:

- Firestore-trigger functions → the Firestore emulator's trigger endpoints (its admin API),
- Pub/Sub-trigger functions → push subscriptions of the Pub/Sub emulator (its admin API),
- scheduled functions → jobs of an in-process Scheduler.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulators.functions_host.logs import log
from emulators.functions_host.manifest import Endpoint, Manifest, TriggerKind

if TYPE_CHECKING:
    from emulators.scheduler import Scheduler

ADMIN_TIMEOUT_S = 30.0


def pubsub_subscription_name(function_name: str, region: str) -> str:
    return f"eventarc-{region}-{function_name}-sub"


def firestore_triggers(manifest: Manifest, url_for: Callable[[str], str]) -> list[dict[str, str]]:
    triggers = []
    for endpoint in _events(manifest):
        trigger = endpoint.event_trigger
        if trigger is None or not trigger.is_firestore or trigger.document is None:
            continue
        triggers.append(
            {
                "name": endpoint.name,
                "eventType": trigger.event_type,
                "document": trigger.document,
                "database": trigger.database,
                "url": url_for(endpoint.name),
            }
        )
    return triggers


def push_subscriptions(
    manifest: Manifest, region: str, url_for: Callable[[str], str]
) -> list[dict[str, Any]]:
    subscriptions = []
    for endpoint in _events(manifest):
        trigger = endpoint.event_trigger
        if trigger is None or not trigger.is_pubsub or trigger.topic is None:
            continue
        subscriptions.append(
            {
                "name": pubsub_subscription_name(endpoint.name, region),
                "topic": trigger.topic,
                "url": url_for(endpoint.name),
                "retry": trigger.retry,
            }
        )
    return subscriptions


def unwired_events(manifest: Manifest) -> list[Endpoint]:
    """Event functions no local emulator can trigger (Storage, Auth blocking, alerts, ...)."""
    return [
        e
        for e in _events(manifest)
        if e.event_trigger is not None
        and not (e.event_trigger.is_firestore or e.event_trigger.is_pubsub)
    ]


def register_firestore_triggers(
    admin_url: str, project: str, triggers: list[dict[str, str]]
) -> None:
    _put_json(f"{admin_url}/emulator/v1/projects/{project}/triggers", {"triggers": triggers})


def register_push_subscriptions(
    admin_url: str, project: str, subscriptions: list[dict[str, Any]]
) -> None:
    _put_json(
        f"{admin_url}/emulator/v1/projects/{project}/pushSubscriptions",
        {"subscriptions": subscriptions},
    )


class Schedules:
    """The scheduled functions of one host, run by the Scheduler on their schedule (when
    started) and on demand."""

    def __init__(self, manifest: Manifest, region: str, url_for: Callable[[str], str]) -> None:
        from emulators.scheduler import ScheduledJob, Scheduler, firebase_job_name

        self._job_by_function: dict[str, str] = {}
        jobs = []
        for endpoint in manifest.endpoints:
            if endpoint.kind is not TriggerKind.SCHEDULE or endpoint.schedule_trigger is None:
                continue
            job_name = firebase_job_name(endpoint.name, region)
            self._job_by_function[endpoint.name] = job_name
            trigger = endpoint.schedule_trigger
            jobs.append(
                ScheduledJob.from_schedule_trigger(
                    job_name,
                    {
                        "schedule": trigger.schedule,
                        "timeZone": trigger.time_zone,
                        "retryConfig": dict(trigger.retry_config),
                    },
                    url_for(endpoint.name),
                )
            )
        self._scheduler: Scheduler = Scheduler(jobs)
        self._running = False

    def __len__(self) -> int:
        return len(self._job_by_function)

    def start(self) -> None:
        self._scheduler.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._scheduler.stop()
            self._running = False

    def run_now(self, function_name: str, schedule_time: dt.datetime | None = None) -> int | None:
        """Runs the job of `function_name` (or a job given by its own name) now, optionally
        as if scheduled at `schedule_time`; the function's HTTP status, None for no such job."""
        job_name = self._job_by_function.get(function_name, function_name)
        if job_name not in self._job_by_function.values():
            return None
        return self._scheduler.run_now(job_name, schedule_time)


def _events(manifest: Manifest) -> list[Endpoint]:
    return [e for e in manifest.endpoints if e.kind is TriggerKind.EVENT]


def _put_json(url: str, body: Any) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:
        response.read()
    log("INFO", f"registered with {url}", count=len(next(iter(body.values()), [])))
