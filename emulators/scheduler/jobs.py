"""A scheduled job: what Cloud Scheduler holds for a `scheduler_fn.on_schedule` function."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

# Cloud Scheduler's defaults for a job's retryConfig, and the v2 attempt deadline firebase sets.
DEFAULT_MIN_BACKOFF_SECONDS = 5.0
DEFAULT_MAX_BACKOFF_SECONDS = 3600.0
DEFAULT_MAX_DOUBLINGS = 5
DEFAULT_ATTEMPT_DEADLINE_SECONDS = 180.0


@dataclasses.dataclass(frozen=True)
class ScheduledJob:
    name: str  # sent as X-CloudScheduler-JobName
    schedule: str  # unix-cron or App Engine cron syntax
    time_zone: str | None  # IANA name; None means UTC, firebase's default for v2 functions
    url: str  # the function's HTTP endpoint
    retry_count: int = 0
    max_retry_seconds: float = 0.0  # 0: no limit but retry_count
    min_backoff_seconds: float = DEFAULT_MIN_BACKOFF_SECONDS
    max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS
    max_doublings: int = DEFAULT_MAX_DOUBLINGS
    attempt_deadline_seconds: float = DEFAULT_ATTEMPT_DEADLINE_SECONDS

    @classmethod
    def from_schedule_trigger(cls, name: str, trigger: Mapping[str, Any], url: str) -> ScheduledJob:
        """Builds a job from a manifest endpoint's `scheduleTrigger` (params already resolved)."""
        retry = trigger.get("retryConfig") or {}
        return cls(
            name=name,
            schedule=str(trigger["schedule"]),
            time_zone=_text(trigger.get("timeZone")),
            url=url,
            retry_count=_number(retry.get("retryCount"), 0),
            max_retry_seconds=float(_number(retry.get("maxRetrySeconds"), 0)),
            min_backoff_seconds=float(
                _number(retry.get("minBackoffSeconds"), DEFAULT_MIN_BACKOFF_SECONDS)
            ),
            max_backoff_seconds=float(
                _number(retry.get("maxBackoffSeconds"), DEFAULT_MAX_BACKOFF_SECONDS)
            ),
            max_doublings=_number(retry.get("maxDoublings"), DEFAULT_MAX_DOUBLINGS),
        )

    def backoff(self, failed_attempt: int) -> float:
        """Delay before retry number `failed_attempt`: doubling, then linear, then capped."""
        doublings = min(failed_attempt - 1, self.max_doublings)
        delay = self.min_backoff_seconds * 2**doublings
        delay += (
            self.min_backoff_seconds
            * 2**self.max_doublings
            * max(failed_attempt - 1 - self.max_doublings, 0)
        )
        return float(min(delay, self.max_backoff_seconds))


def firebase_job_name(function_id: str, region: str) -> str:
    """The Cloud Scheduler job id `firebase deploy` gives a scheduled function."""
    return f"firebase-schedule-{function_id}-{region}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any, default: Any) -> Any:
    # Unset manifest options are sentinels or None; anything else numeric is taken as given.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return type(default)(value)
