"""Quota arithmetic: units per operation, periods and their resets, shard allowances, headers.

Pure: no I/O. aide.services.metering does the Firestore side; this module decides how much an
operation costs, which counter documents a call touches, how much each shard may admit, and
what the RateLimit / RateLimit-Policy / Retry-After headers say (IETF draft
draft-ietf-httpapi-ratelimit-headers, structured-field form:
`RateLimit-Policy: "day";q=1000;w=86400, "minute";q=60;w=60` and `RateLimit: "day";r=12;t=3600`).

Periods: API calls per UTC day (with a fixed per-minute burst window inside it), task minutes per
UTC calendar month, storage bytes have no period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.timestamps import as_utc, rfc3339
from aide.domain.users import PeriodicQuota, next_day_start, next_month_start

DAY_SECONDS: Final = 86_400
MINUTE_SECONDS: Final = 60

# Shards per user-day, at most: enough that one user's 50+ calls/s spread over several documents,
# few enough that the refusal path (which may touch every shard) stays cheap. A user-day uses
# only as many as its per-minute burst needs (`shard_count`).
SHARDS: Final = 8
# One counter document sustains about one write per second: a burst of up to this many units a
# minute fits one shard, and each further such share adds one (up to SHARDS).
BURST_UNITS_PER_SHARD: Final = 60


def shard_count(burst_limit: int) -> int:
    """The shards a user-day is split into for this burst limit. One for small limits (the free
    plan's 60 a minute), so that they are admitted exactly whatever each call costs (a 5-unit
    call does not strand units in eight small slices); more only when the rate needs them.
    Derived from the limits, so it changes only with them: a plan change carries the day's
    counts over to a new generation sliced for the new count (services.metering.carry_over)."""
    return max(1, min(SHARDS, math.ceil(max(burst_limit, 0) / BURST_UNITS_PER_SHARD)))


class LimitKind(StrEnum):
    """Which allowance refused a call (the RateLimit policy names)."""

    DAY = "day"
    MINUTE = "minute"


@dataclass(frozen=True)
class UnitsPolicy:
    """What a call costs: the seed's `calculateUnits`, by operation name ("module.handler").

    Zero-unit operations are admitted without touching any counter (e.g. reading one's own
    usage must work when the quota is spent).
    """

    default: int = 1
    per_operation: Mapping[str, int] = field(default_factory=dict)

    def units(self, operation: str) -> int:
        return max(0, int(self.per_operation.get(operation, self.default)))


DEFAULT_UNITS: Final = UnitsPolicy(
    default=1,
    per_operation={
        "aide.entrypoints.users.get_my_usage": 0,
        # Starting work costs more than reading it: a task runs an agent.
        "aide.entrypoints.tasks.create_task": 5,
        "aide.entrypoints.task_groups.create_task_group": 5,
    },
)


def day_key(now: datetime) -> str:
    return as_utc(now).date().isoformat()


def minute_key(now: datetime) -> str:
    """The burst window inside the day: "HHMM"."""
    return as_utc(now).strftime("%H%M")


def month_key(now: datetime) -> str:
    return as_utc(now).strftime("%Y-%m")


def day_reset(now: datetime) -> datetime:
    return next_day_start(now)


def minute_reset(now: datetime) -> datetime:
    now = as_utc(now)
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def month_reset(now: datetime) -> datetime:
    return next_month_start(now)


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds, rounded up and at least 1: a client retrying after it is never early."""
    return max(1, math.ceil((as_utc(moment) - as_utc(now)).total_seconds()))


def burst_limit_of(quota: PeriodicQuota, plan: str) -> int:
    """The per-minute burst: stored with the counters, else the plan's documented default."""
    if quota.burst_limit is not None:
        return quota.burst_limit
    try:
        return DEFAULT_PLANS[PlanName(plan)].burst_per_minute
    except ValueError:
        return DEFAULT_PLANS[PlanName.FREE].burst_per_minute


def shard_allowance(limit: int, shards: int, shard: int) -> int:
    """Shard `shard`'s slice of `limit`; the slices sum to `limit` exactly."""
    base, extra = divmod(limit, shards)
    return base + (1 if shard < extra else 0)


def counter_id(uid: str, day: str, generation: int, shard: int) -> str:
    return f"{uid}_{day}_g{generation}_s{shard}"


@dataclass(frozen=True)
class ShardOutcome:
    """A shard's counters right after this call's increment (Firestore transform results)."""

    day_used: int
    minute_used: int


def shard_refusal(
    outcome: ShardOutcome, *, day_allowance: int, burst_allowance: int
) -> LimitKind | None:
    """Why the shard cannot admit the call it just counted, or None when it admits it.

    Sound because increments on a shard are serialized and a refused call takes its units back:
    a shard's counter is (admitted + not yet returned refusals) >= admitted, so admitting only
    when the counter after the increment fits the allowance never admits past it.
    """
    if outcome.day_used > day_allowance:
        return LimitKind.DAY
    if outcome.minute_used > burst_allowance:
        return LimitKind.MINUTE
    return None


@dataclass(frozen=True)
class Limits:
    day_limit: int
    burst_limit: int


@dataclass(frozen=True)
class RateLimitState:
    """What the headers report. `remaining` is an estimate on success (see metering)."""

    limits: Limits
    day_remaining: int
    minute_remaining: int
    now: datetime

    def policy_header(self) -> str:
        return (
            f'"{LimitKind.DAY}";q={self.limits.day_limit};w={DAY_SECONDS}, '
            f'"{LimitKind.MINUTE}";q={self.limits.burst_limit};w={MINUTE_SECONDS}'
        )

    def ratelimit_header(self) -> str:
        day_t = seconds_until(day_reset(self.now), self.now)
        minute_t = seconds_until(minute_reset(self.now), self.now)
        return (
            f'"{LimitKind.DAY}";r={max(0, self.day_remaining)};t={day_t}, '
            f'"{LimitKind.MINUTE}";r={max(0, self.minute_remaining)};t={minute_t}'
        )

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Policy": self.policy_header(), "RateLimit": self.ratelimit_header()}


@dataclass(frozen=True)
class Refusal:
    """A call over its quota: the seed's 429 body plus the headers."""

    kind: LimitKind
    limit: int
    reset: datetime
    state: RateLimitState

    def body(self) -> dict[str, object]:
        return {"error": "Quota exceeded", "limit": self.limit, "reset": rfc3339(self.reset)}

    def headers(self) -> dict[str, str]:
        return {
            **self.state.headers(),
            "Retry-After": str(seconds_until(self.reset, self.state.now)),
        }


def refusal(kind: LimitKind, limits: Limits, now: datetime) -> Refusal:
    if kind is LimitKind.DAY:
        reset, limit = day_reset(now), limits.day_limit
        state = RateLimitState(limits, 0, 0, now)
    else:
        reset, limit = minute_reset(now), limits.burst_limit
        state = RateLimitState(limits, max(0, limits.day_limit), 0, now)
    return Refusal(kind=kind, limit=limit, reset=reset, state=state)


def blocked_kind(blocked_until: datetime | None, now: datetime) -> LimitKind | None:
    """Whether a recorded exhaustion still refuses calls, and which allowance it was."""
    if blocked_until is None or as_utc(now) >= as_utc(blocked_until):
        return None
    return LimitKind.DAY if as_utc(blocked_until) >= day_reset(now) else LimitKind.MINUTE


# Task minutes ---------------------------------------------------------------------------------


def execution_minutes(execution_ms: int) -> float:
    """Minutes charged for a run: real execution time, to the millisecond."""
    return max(0, execution_ms) / 60_000


def period_ended(reset: datetime | None, now: datetime) -> bool:
    return reset is None or as_utc(now) >= as_utc(reset)


class QuotaExhausted(Exception):
    """A task-minute or storage quota has no room for what was asked (the HTTP layer's 429)."""

    def __init__(self, quota_name: str, limit: int, reset: datetime | None) -> None:
        self.quota_name = quota_name
        self.limit = limit
        self.reset = reset
        super().__init__(f"{quota_name} quota exceeded (limit {limit})")

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"error": "Quota exceeded", "limit": self.limit}
        body["reset"] = rfc3339(self.reset) if self.reset is not None else None
        return body
