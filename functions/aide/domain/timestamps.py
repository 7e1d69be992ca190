"""UTC timestamps as the platform stores and serializes them.

Firestore keeps timestamps natively (the client returns aware UTC datetimes); JSON carries RFC 3339
strings ending in 'Z'. Naive datetimes are refused because their zone is a guess.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema


def utc_now() -> datetime:
    return datetime.now(UTC)


def schedule_skew(schedule_time: datetime | None, now: datetime | None = None) -> timedelta:
    """How far a scheduled run's schedule time is ahead of the clock (negative: the run is late).

    Sweepers judge staleness from the schedule time, so a late (or retried) run sweeps no more
    than an on-time one would have, while what they write is stamped with the real clock.
    A naive schedule time (no zone) counts as no skew."""
    if schedule_time is None or schedule_time.tzinfo is None:
        return timedelta(0)
    return schedule_time - (now or utc_now())


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """`2026-01-02T03:04:05.123456Z` — the JSON form of every timestamp."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _serialize(value: datetime) -> str:
    return rfc3339(value)


UtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(as_utc),
    # In python mode the datetime stays a datetime so Firestore stores a native timestamp.
    PlainSerializer(_serialize, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
