"""Task-minute and storage quotas, for the agent runtime and the storage/knowledge writers.

* `check_task_minutes(db, uid)` — before a task starts: raises QuotaExhausted when the month's
  task minutes are spent (one read of users/{uid}).
* `charge_task_minutes(db, uid, task_id, execution_ms, run_id=None, completed=True)` — when a
  run ends, its real execution time: adds it to quotas.taskMinutes.used and to today's usage
  record, exactly once per task id — or, with `run_id`, once per run of the task, which is how
  the agent runtime charges every attempt (requeued, cancelled or retried ones too) for the time
  it really ran (aide.adapters.processed_events.run_once keyed "task-minutes:<task id>[:<run
  id>]"). `completed=False` charges the minutes without counting a completed task. Returns False
  for a repeat.
* `charge_storage(db, uid, delta_bytes, key)` — before storing (positive delta) or after deleting
  (negative): refuses with QuotaExhausted when the bytes would pass the limit, else charges
  exactly once per `key` (e.g. the object path and generation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aide.adapters.processed_events import run_once
from aide.domain import collections, quota
from aide.domain.access import ResourceNotFound
from aide.domain.quota import QuotaExhausted
from aide.domain.timestamps import utc_now
from aide.domain.usage import daily_usage_id
from aide.domain.users import User

if TYPE_CHECKING:
    from google.cloud.firestore import Client, Transaction

CONSUMER = "quota"


def _user(db: Client, uid: str, transaction: Transaction | None = None) -> User:
    snapshot = db.collection(collections.USERS).document(uid).get(transaction=transaction)
    if not snapshot.exists:
        raise ResourceNotFound("User not found")
    return User.from_document(snapshot.to_dict() or {})


def check_task_minutes(db: Client, uid: str, *, now: Callable[[], datetime] = utc_now) -> None:
    minutes = _user(db, uid).quotas.task_minutes
    moment = now()
    if quota.period_ended(minutes.reset, moment):
        return  # the reset job has not run yet: the new month starts with nothing used
    if minutes.used >= minutes.limit:
        raise QuotaExhausted(
            "taskMinutes", minutes.limit, minutes.reset or quota.month_reset(moment)
        )


def _usage_increment(uid: str, moment: datetime, fields: dict[str, Any]) -> dict[str, Any]:
    day = quota.day_key(moment)
    return {
        "id": daily_usage_id(uid, moment.date()),
        "userId": uid,
        "date": day,
        "updatedAt": moment,
        **fields,
    }


def charge_task_minutes(
    db: Client,
    uid: str,
    task_id: str,
    execution_ms: int,
    *,
    run_id: str | None = None,
    completed: bool = True,
    now: Callable[[], datetime] = utc_now,
) -> bool:
    from google.cloud import firestore

    minutes = quota.execution_minutes(execution_ms)
    moment = now()
    user_ref = db.collection(collections.USERS).document(uid)
    usage_ref = db.collection(collections.USAGE).document(daily_usage_id(uid, moment.date()))

    def charge(transaction: Transaction) -> None:
        _user(db, uid, transaction)
        transaction.update(user_ref, {"quotas.taskMinutes.used": firestore.Increment(minutes)})
        transaction.set(
            usage_ref,
            _usage_increment(
                uid,
                moment,
                {
                    "taskMinutes": firestore.Increment(minutes),
                    **({"tasksCompleted": firestore.Increment(1)} if completed else {}),
                },
            ),
            merge=True,
        )

    key = f"task-minutes:{task_id}" if run_id is None else f"task-minutes:{task_id}:{run_id}"
    return run_once(db, key, charge, consumer=CONSUMER).ran


def charge_storage(
    db: Client, uid: str, delta_bytes: int, key: str, *, now: Callable[[], datetime] = utc_now
) -> bool:
    from google.cloud import firestore

    moment = now()
    user_ref = db.collection(collections.USERS).document(uid)
    usage_ref = db.collection(collections.USAGE).document(daily_usage_id(uid, moment.date()))

    def charge(transaction: Transaction) -> None:
        storage = _user(db, uid, transaction).quotas.storage_bytes
        if delta_bytes > 0 and storage.used + delta_bytes > storage.limit:
            raise QuotaExhausted("storageBytes", storage.limit, None)
        # Never below zero, whatever order deletions are charged in.
        change = max(delta_bytes, -storage.used)
        transaction.update(user_ref, {"quotas.storageBytes.used": firestore.Increment(change)})
        transaction.set(
            usage_ref,
            _usage_increment(uid, moment, {"storageBytes": storage.used + change}),
            merge=True,
        )

    return run_once(db, f"storage:{key}", charge, consumer=CONSUMER).ran
