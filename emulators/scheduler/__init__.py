"""Local Cloud Scheduler: runs `scheduler_fn.on_schedule` functions on their schedule."""

from __future__ import annotations

from emulators.scheduler.clock import Clock, ManualClock, SystemClock
from emulators.scheduler.jobs import ScheduledJob, firebase_job_name
from emulators.scheduler.scheduler import Scheduler
from emulators.scheduler.schedules import parse_schedule

__all__ = [
    "Clock",
    "ManualClock",
    "ScheduledJob",
    "Scheduler",
    "SystemClock",
    "firebase_job_name",
    "parse_schedule",
]
