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

from aide.domain import collections, quota
from aide.domain.billing import billing_period_id
from aide.domain.timestamps import as_utc, utc_now
from aide.domain.usage import daily_usage_id
from aide.domain.users import User, next_day_start, next_month_start

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentSnapshot, Transaction

API_RESET_FIELD = "quotas.apiCalls.reset"
MINUTES_RESET_FIELD = "quotas.taskMinutes.reset"


@dataclass
class ResetReport:
    api_calls_reset: int = 0
    task_minutes_reset: int = 0
    users_seen: int = 0
    skipped: int = 0  # already reset by a concurrent run
    errors: list[str] = field(default_factory=list)


def _counter_total(
    db: Client, transaction: Transaction, uid: str, day: str, generations: int
) -> int:
    refs = [
        db.collection(collections.QUOTA_COUNTERS).document(quota.counter_id(uid, day, g, s))
        for g in range(generations + 1)
        for s in range(quota.SHARDS)
    ]
    # Units carried into a new generation (plan change) were already counted in the old one.
    return sum(
        int(data.get("apiCalls", 0)) - int(data.get("carried", 0))
        for data in (
            snapshot.to_dict() or {}
            for snapshot in db.get_all(refs, transaction=transaction)
            if snapshot.exists
        )
    )


def _api_rollup(
    db: Client,
    uid: str,
    user: User,
    ended: datetime,
    day: str,
    month: str,
    total: int,
    now: datetime,
) -> list[tuple[Any, dict[str, Any]]]:
    from google.cloud import firestore

    usage_id = daily_usage_id(uid, ended.date())
    return [
        (
            db.collection(collections.USAGE).document(usage_id),
            {"id": usage_id, "userId": uid, "date": day, "apiCalls": total, "updatedAt": now},
        ),
        (
            db.collection(collections.BILLING).document(billing_period_id(uid, month)),
            {
                "id": billing_period_id(uid, month),
                "userId": uid,
                "period": month,
                "plan": user.subscription.plan,
                # Safe as an increment: the transaction that adds it also moves the user's
                # reset time forward, so it is added once per day.
                "apiCalls": firestore.Increment(total),
            },
        ),
    ]


def reset_user(
    db: Client, uid: str, now: datetime, active_on: Callable[[str], set[str]] | None = None
) -> tuple[bool, bool]:
    """Reset `uid`'s ended periods; (api calls reset, task minutes reset).

    `active_on(day)` (optional) names the users with counters that day, so an idle user's
    shards are not read one by one.
    """
    from google.cloud import firestore

    user_ref = db.collection(collections.USERS).document(uid)

    @firestore.transactional
    def apply(transaction: Transaction) -> tuple[bool, bool]:
        snapshot = user_ref.get(transaction=transaction)
        if not snapshot.exists:
            return False, False
        user = User.from_document(snapshot.to_dict() or {})
        api, minutes = user.quotas.api_calls, user.quotas.task_minutes
        api_due = api.reset is not None and quota.period_ended(api.reset, now)
        minutes_due = minutes.reset is not None and quota.period_ended(minutes.reset, now)
        if not (api_due or minutes_due):
            return False, False
        fields: dict[str, Any] = {}
        writes: list[tuple[Any, dict[str, Any]]] = []
        if api_due and api.reset is not None:
            ended = as_utc(api.reset) - timedelta(days=1)
            day, month = quota.day_key(ended), quota.month_key(ended)
            idle = active_on is not None and uid not in active_on(day)
            total = 0 if idle else _counter_total(db, transaction, uid, day, api.generation)
            # An idle day writes nothing but the user's new period.
            writes.extend(
                _api_rollup(db, uid, user, ended, day, month, total, now) if total else []
            )
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
            writes.append(
                (
                    db.collection(collections.BILLING).document(billing_period_id(uid, month)),
                    {
                        "id": billing_period_id(uid, month),
                        "userId": uid,
                        "period": month,
                        "plan": user.subscription.plan,
                        "taskMinutes": minutes.used,
                        "storageBytesPeak": user.quotas.storage_bytes.used,
                        "closedAt": now,
                    },
                )
            )
            fields.update(
                {"quotas.taskMinutes.used": 0, "quotas.taskMinutes.reset": next_month_start(now)}
            )
        for ref, data in writes:
            transaction.set(ref, data, merge=True)
        transaction.update(user_ref, fields)
        return api_due, minutes_due

    result: tuple[bool, bool] = apply(db.transaction())
    return result


def _due_users(
    db: Client, field_path: str, now: datetime, page_size: int, after: DocumentSnapshot | None
) -> list[DocumentSnapshot]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        db.collection(collections.USERS)
        .where(filter=FieldFilter(field_path, "<=", now))
        .order_by(field_path)
        .select([field_path])
        .limit(page_size)
    )
    if after is not None:
        query = query.start_after(after)
    return list(query.stream())


class _ActiveUsers:
    """Users with API-call counters on a day, from one query per day (counters of an ended day
    no longer change), so the reset reads shards only for users who made calls."""

    def __init__(self, db: Client) -> None:
        self.db = db
        self.days: dict[str, set[str]] = {}

    def __call__(self, day: str) -> set[str]:
        if day not in self.days:
            from google.cloud.firestore_v1.base_query import FieldFilter

            query = (
                self.db.collection(collections.QUOTA_COUNTERS)
                .where(filter=FieldFilter("date", "==", day))
                .select(["userId"])
            )
            self.days[day] = {
                str((snapshot.to_dict() or {}).get("userId")) for snapshot in query.stream()
            }
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
