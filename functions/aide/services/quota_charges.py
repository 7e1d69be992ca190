"""Task-minute and storage quotas, for the agent runtime and the storage/knowledge writers.

* `check_task_minutes(db, uid)` — before a task starts: raises QuotaExhausted when the month's
  task minutes are spent (one read of users/{uid}).
* `charge_task_minutes(db, uid, task_id, execution_ms, run_id=None, completed=True)` — when a
  run ends, its real execution time: adds it to quotas.taskMinutes.used and to today's usage
  record, exactly once per task id — or, with `run_id`, once per run of the task, which is how
  the agent runtime charges every attempt (requeued, cancelled or retried ones too) for the time
  it really ran (aide.adapters.processed_events.run_once keyed "task-minutes:<task id>[:<run
  id>]"). `completed=False` charges the minutes without counting a completed task. Returns False
  for a repeat. The run's model tokens (`tokens`) go to today's usage record in the same
  charge, so they too count exactly once per run.
* `charge_storage(db, uid, delta_bytes, key)` — before storing (positive delta) or after deleting
  (negative): refuses with QuotaExhausted when the bytes would pass the limit, else charges
  exactly once per `key` (e.g. the object path and generation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from aide.adapters.processed_events import run_once
from aide.adapters.repositories import UserRepository
from aide.adapters.unit_of_work import UnitOfWork
from aide.domain import quota
from aide.domain.access import ResourceNotFound
from aide.domain.quota import QuotaExhausted
from aide.domain.timestamps import utc_now
from aide.domain.usage import daily_usage_id
from aide.domain.users import User

if TYPE_CHECKING:
    from google.cloud.firestore import Client

CONSUMER = "quota"


def _user(users: UserRepository, uid: str) -> User:
    user = users.get(uid)
    if user is None:
        raise ResourceNotFound("User not found")
    return user


def check_task_minutes(db: Client, uid: str, *, now: Callable[[], datetime] = utc_now) -> None:
    minutes = _user(UserRepository(db), uid).quotas.task_minutes
    moment = now()
    if quota.period_ended(minutes.reset, moment):
        return  # the reset job has not run yet: the new month starts with nothing used
    if minutes.used >= minutes.limit:
        raise QuotaExhausted(
            "taskMinutes", minutes.limit, minutes.reset or quota.month_reset(moment)
        )


def _add_usage(uow: UnitOfWork, uid: str, moment: datetime, fields: dict[str, Any]) -> None:
    """Today's usage record gets `fields` (increments or values), created if needed."""
    doc_id = daily_usage_id(uid, moment.date())
    uow.daily_usage.merge(
        doc_id,
        {"id": doc_id, "userId": uid, "date": quota.day_key(moment), "updatedAt": moment, **fields},
    )


def charge_task_minutes(
    db: Client,
    uid: str,
    task_id: str,
    execution_ms: int,
    *,
    run_id: str | None = None,
    completed: bool = True,
    tokens: int = 0,
    now: Callable[[], datetime] = utc_now,
) -> bool:
    minutes = quota.execution_minutes(execution_ms)
    moment = now()

    def charge(uow: UnitOfWork) -> None:
        _user(uow.users, uid)
        uow.users.update(uid, {"quotas.taskMinutes.used": firestore.Increment(minutes)})
        _add_usage(
            uow,
            uid,
            moment,
            {
                "taskMinutes": firestore.Increment(minutes),
                "tokensUsed": firestore.Increment(max(tokens, 0)),
                **({"tasksCompleted": firestore.Increment(1)} if completed else {}),
            },
        )

    key = f"task-minutes:{task_id}" if run_id is None else f"task-minutes:{task_id}:{run_id}"
    return run_once(db, key, charge, consumer=CONSUMER).ran


def charge_storage(
    db: Client, uid: str, delta_bytes: int, key: str, *, now: Callable[[], datetime] = utc_now
) -> bool:
    moment = now()

    def charge(uow: UnitOfWork) -> None:
        storage = _user(uow.users, uid).quotas.storage_bytes
        if delta_bytes > 0 and storage.used + delta_bytes > storage.limit:
            raise QuotaExhausted("storageBytes", storage.limit, None)
        # Never below zero, whatever order deletions are charged in.
        change = max(delta_bytes, -storage.used)
        uow.users.update(uid, {"quotas.storageBytes.used": firestore.Increment(change)})
        _add_usage(uow, uid, moment, {"storageBytes": storage.used + change})

    return run_once(db, f"storage:{key}", charge, consumer=CONSUMER).ran
