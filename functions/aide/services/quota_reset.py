"""The scheduled quota reset: counters whose period ended start again, usage rolls up.

For each user whose `quotas.apiCalls.reset` or `quotas.taskMinutes.reset` has passed, one
transaction:
* API calls (daily): sums the ended day's sharded counters (every generation of that day) into
  usage/{uid}_{day}.apiCalls (an absolute value) and adds it to billing/{uid}_{month}.apiCalls,
  then sets used=0, reset=next midnight and clears any recorded exhaustion;
* task minutes (monthly): closes billing/{uid}_{month} with the month's task minutes and the
  storage peak, then sets used=0, reset=next month start.

Idempotent and safe to run twice or concurrently: the transaction re-reads the user and only
acts while the reset time is still in the past, and moving it forward is part of the same commit
— so the user document's reset time is the exactly-once marker for its period's rollup (the
billing increment included). Paged: users are found by a range query on the reset time (single-
field index) in pages of `page_size`, so 100,000 users cost 100,000 small transactions and a
bounded amount of memory (plus the ids of the day's active users, found with one query on the
counters, so idle users cost one read and one write). A day missed entirely (the job did not
run) rolls up the last day the counters were reset for; earlier counters stay in
quota_counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from aide.adapters.repositories import QuotaCounterRepository, UserRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain import quota
from aide.domain.billing import billing_period_id
from aide.domain.timestamps import as_utc, utc_now
from aide.domain.usage import daily_usage_id
from aide.domain.users import User, next_day_start, next_month_start

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentSnapshot

API_RESET_FIELD = "quotas.apiCalls.reset"
MINUTES_RESET_FIELD = "quotas.taskMinutes.reset"


@dataclass
class ResetReport:
    api_calls_reset: int = 0
    task_minutes_reset: int = 0
    users_seen: int = 0
    skipped: int = 0  # already reset by a concurrent run
    errors: list[str] = field(default_factory=list)


def _counter_total(uow: UnitOfWork, uid: str, day: str, generations: int) -> int:
    counters = uow.quota_counters.documents(uid, day, range(generations + 1))
    # Units carried into a new generation (plan change) were already counted in the old one.
    return sum(int(data.get("apiCalls", 0)) - int(data.get("carried", 0)) for data in counters)


def _billing_fields(uid: str, user: User, month: str) -> dict[str, Any]:
    return {
        "id": billing_period_id(uid, month),
        "userId": uid,
        "period": month,
        "plan": user.subscription.plan,
    }


def reset_user(
    db: Client, uid: str, now: datetime, active_on: Callable[[str], set[str]] | None = None
) -> tuple[bool, bool]:
    """Reset `uid`'s ended periods; (api calls reset, task minutes reset).

    `active_on(day)` (optional) names the users with counters that day, so an idle user's
    shards are not read one by one.
    """

    def apply(uow: UnitOfWork) -> tuple[bool, bool]:
        user = uow.users.get(uid)
        if user is None:
            return False, False
        api, minutes = user.quotas.api_calls, user.quotas.task_minutes
        api_due = api.reset is not None and quota.period_ended(api.reset, now)
        minutes_due = minutes.reset is not None and quota.period_ended(minutes.reset, now)
        if not (api_due or minutes_due):
            return False, False
        fields: dict[str, Any] = {}
        usage: dict[str, dict[str, Any]] = {}
        billing: list[tuple[str, dict[str, Any]]] = []
        if api_due and api.reset is not None:
            ended = as_utc(api.reset) - timedelta(days=1)
            day, month = quota.day_key(ended), quota.month_key(ended)
            idle = active_on is not None and uid not in active_on(day)
            total = 0 if idle else _counter_total(uow, uid, day, api.generation)
            # An idle day writes nothing but the user's new period.
            if total:
                usage_id = daily_usage_id(uid, ended.date())
                usage[usage_id] = {
                    "id": usage_id,
                    "userId": uid,
                    "date": day,
                    "apiCalls": total,
                    "updatedAt": now,
                }
                # Safe as an increment: the transaction that adds it also moves the user's
                # reset time forward, so it is added once per day.
                billing_fields = _billing_fields(uid, user, month)
                billing_fields["apiCalls"] = firestore.Increment(total)
                billing.append((billing_period_id(uid, month), billing_fields))
        if api_due:
            fields.update(
                {
                    "quotas.apiCalls.used": 0,
                    "quotas.apiCalls.reset": next_day_start(now),
                    "quotas.apiCalls.blockedUntil": firestore.DELETE_FIELD,
                }
            )
        if minutes_due and minutes.reset is not None:
            ended = as_utc(minutes.reset) - timedelta(days=1)
            month = quota.month_key(ended)
            billing.append(
                (
                    billing_period_id(uid, month),
                    {
                        **_billing_fields(uid, user, month),
                        "taskMinutes": minutes.used,
                        "storageBytesPeak": user.quotas.storage_bytes.used,
                        "closedAt": now,
                    },
                )
            )
            fields.update(
                {"quotas.taskMinutes.used": 0, "quotas.taskMinutes.reset": next_month_start(now)}
            )
        for doc_id, data in usage.items():
            uow.daily_usage.merge(doc_id, data)
        for doc_id, data in billing:
            uow.billing.merge(doc_id, data)
        uow.users.update(uid, fields)
        return api_due, minutes_due

    return run_in_transaction(db, apply)


def _due_users(
    db: Client, field_path: str, now: datetime, page_size: int, after: DocumentSnapshot | None
) -> list[DocumentSnapshot]:
    return UserRepository(db).due_for_reset(field_path, now, limit=page_size, after=after)


class _ActiveUsers:
    """Users with API-call counters on a day, from one query per day (counters of an ended day
    no longer change), so the reset reads shards only for users who made calls."""

    def __init__(self, db: Client) -> None:
        self.counters = QuotaCounterRepository(db)
        self.days: dict[str, set[str]] = {}

    def __call__(self, day: str) -> set[str]:
        if day not in self.days:
            self.days[day] = self.counters.users_active_on(day)
        return self.days[day]


def reset_ended_periods(
    db: Client, *, now: Callable[[], datetime] = utc_now, page_size: int = 500
) -> ResetReport:
    moment = now()
    report = ResetReport()
    active_on = _ActiveUsers(db)
    for field_path in (API_RESET_FIELD, MINUTES_RESET_FIELD):
        after: DocumentSnapshot | None = None
        while True:
            page = _due_users(db, field_path, moment, page_size, after)
            if not page:
                break
            for snapshot in page:
                report.users_seen += 1
                try:
                    api_done, minutes_done = reset_user(db, snapshot.id, moment, active_on)
                except Exception as error:  # one bad account must not stop everyone's reset
                    report.errors.append(f"{snapshot.id}: {error}")
                    continue
                report.api_calls_reset += int(api_done)
                report.task_minutes_reset += int(minutes_done)
                if not (api_done or minutes_done):
                    report.skipped += 1
            after = page[-1]
    return report
