"""GET /users/me/usage: the caller's current usage, limits, reset times and daily history.

Live API-call usage comes from the sharded counters of the current day and generation (the
user document's `used` is only settled by exhaustion and by the reset job); task minutes and
storage from the user document; history from usage/{uid}_{day} (most recent first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aide.adapters.repositories import DailyUsageRepository
from aide.domain import quota
from aide.domain.timestamps import utc_now
from aide.domain.usage import (
    ApiCallsUsage,
    CurrentUsage,
    StorageUsage,
    TaskMinutesUsage,
    UsageReport,
)
from aide.domain.users import User
from aide.services.metering import day_usage

if TYPE_CHECKING:
    from google.cloud.firestore import Client

HISTORY_DAYS = 30


def usage_report(
    db: Client, user: User, *, now: Callable[[], datetime] = utc_now, days: int = HISTORY_DAYS
) -> UsageReport:
    moment = now()
    api, minutes, storage = (
        user.quotas.api_calls,
        user.quotas.task_minutes,
        user.quotas.storage_bytes,
    )
    api_used = day_usage(db, user.uid, quota.day_key(moment), api.generation)
    if quota.blocked_kind(api.blocked_until, moment) is not None:
        api_used = max(api_used, int(api.used))
    minutes_used = 0.0 if quota.period_ended(minutes.reset, moment) else float(minutes.used)
    history = DailyUsageRepository(db).history(user.uid, days=days)
    return UsageReport(
        plan=user.subscription.plan,
        usage=CurrentUsage(
            api_calls=ApiCallsUsage(
                used=api_used,
                limit=api.limit,
                remaining=max(0, api.limit - api_used),
                reset=quota.day_reset(moment),
                burst_limit=quota.burst_limit_of(api, user.subscription.plan),
            ),
            task_minutes=TaskMinutesUsage(
                used=minutes_used,
                limit=minutes.limit,
                remaining=max(0.0, minutes.limit - minutes_used),
                reset=minutes.reset
                if minutes.reset and not quota.period_ended(minutes.reset, moment)
                else quota.month_reset(moment),
            ),
            storage_bytes=StorageUsage(
                used=storage.used,
                limit=storage.limit,
                remaining=max(0, storage.limit - storage.used),
            ),
        ),
        history=history,
    )
