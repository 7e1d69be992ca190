"""Schedules as Cloud Scheduler accepts them: unix-cron, or the App Engine cron syntax.

Only the next run time is needed: `Schedule.next_after(moment)` gives the first run strictly after
`moment` (aware datetimes; the result is in the schedule's time zone).

App Engine syntax supported here (the forms firebase examples use):
- `every N minutes|mins|hours|hrs` — runs N apart, counted from when the scheduler started;
- `every N minutes|hours synchronized` — runs N apart, aligned on midnight;
- `every N minutes|hours from HH:MM to HH:MM` — aligned on the window's start, within it daily;
- `every day HH:MM`, `every monday HH:MM`, `every mon,wed,fri HH:MM`.
Ordinal forms (`2nd monday of march 17:00`) are rejected with a ValueError.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter

_WEEKDAYS = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 0,
}
_WEEKDAY_NUMBERS = {
    **_WEEKDAYS,
    **{name[:3]: number for name, number in _WEEKDAYS.items()},
}
_UNITS = {"minutes": 60, "mins": 60, "minute": 60, "min": 60, "hours": 3600, "hrs": 3600}
_UNITS.update({"hour": 3600, "hr": 3600})

_INTERVAL = re.compile(
    r"^every (?P<count>\d+) (?P<unit>[a-z]+)"
    r"(?: (?P<synchronized>synchronized)| from (?P<start>\d\d?:\d\d) to (?P<end>\d\d?:\d\d))?$"
)
_DAILY = re.compile(r"^every (?P<days>[a-z,]+) (?P<hour>\d\d?):(?P<minute>\d\d)$")


class Schedule(Protocol):
    def next_after(self, moment: dt.datetime) -> dt.datetime: ...


@dataclasses.dataclass(frozen=True)
class CronSchedule:
    expression: str
    zone: ZoneInfo

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        following: dt.datetime = croniter(self.expression, moment.astimezone(self.zone)).get_next(
            dt.datetime
        )
        return following


@dataclasses.dataclass(frozen=True)
class IntervalSchedule:
    step: dt.timedelta
    zone: ZoneInfo
    anchor: dt.datetime | None = None  # unsynchronised intervals count from here
    window: tuple[dt.time, dt.time] | None = None  # daily first/last possible run

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        if self.window is None and self.anchor is not None:
            steps = (moment - self.anchor) // self.step + 1
            return (self.anchor + max(steps, 1) * self.step).astimezone(self.zone)
        first, last = self.window or (dt.time(0, 0), dt.time(23, 59))
        local = moment.astimezone(self.zone)
        for day_offset in range(0, 3):
            day = local.date() + dt.timedelta(days=day_offset)
            start = dt.datetime.combine(day, first, tzinfo=self.zone)
            end = dt.datetime.combine(day, last, tzinfo=self.zone)
            if moment < start:
                return start
            steps = (moment - start) // self.step + 1
            candidate = start + steps * self.step
            if candidate <= end:
                return candidate.astimezone(self.zone)
        raise AssertionError("a daily window always has a run within three days")


def parse_schedule(
    schedule: str, time_zone: str | None, started: dt.datetime | None = None
) -> Schedule:
    """A schedule in `time_zone` (default UTC); `started` anchors unsynchronised intervals."""
    zone = ZoneInfo(time_zone or "UTC")
    text = " ".join(schedule.strip().lower().split())
    if not text.startswith("every "):
        if not croniter.is_valid(text) or len(text.split()) != 5:
            raise ValueError(f"not a unix-cron or App Engine cron schedule: {schedule!r}")
        return CronSchedule(text, zone)
    interval = _INTERVAL.match(text)
    if interval is not None and interval["unit"] in _UNITS:
        step = dt.timedelta(seconds=int(interval["count"]) * _UNITS[interval["unit"]])
        if step <= dt.timedelta(0):
            raise ValueError(f"interval must be positive: {schedule!r}")
        if interval["start"] is not None:
            window = (_clock_time(interval["start"]), _clock_time(interval["end"]))
            return IntervalSchedule(step, zone, window=window)
        if interval["synchronized"] is not None:
            return IntervalSchedule(step, zone)
        anchor = started or dt.datetime.now(dt.UTC)
        return IntervalSchedule(step, zone, anchor=anchor)
    daily = _DAILY.match(text)
    if daily is not None:
        hour, minute = int(daily["hour"]), int(daily["minute"])
        if hour > 23 or minute > 59:
            raise ValueError(f"invalid time of day in {schedule!r}")
        days = daily["days"].split(",")
        if days == ["day"]:
            return CronSchedule(f"{minute} {hour} * * *", zone)
        try:
            numbers = sorted({_WEEKDAY_NUMBERS[day] for day in days})
        except KeyError as unknown:
            raise ValueError(f"unknown day {unknown} in {schedule!r}") from None
        return CronSchedule(f"{minute} {hour} * * {','.join(map(str, numbers))}", zone)
    raise ValueError(f"App Engine cron form not supported by the local scheduler: {schedule!r}")


def is_unix_cron(schedule: str) -> bool:
    """Cloud Scheduler sends X-CloudScheduler-ScheduleTime only for unix-cron schedules."""
    return not schedule.strip().lower().startswith("every ")


def _clock_time(text: str) -> dt.time:
    hour, minute = (int(part) for part in text.split(":"))
    return dt.time(hour, minute)
