"""The scheduled quota reset against the Firestore emulator: rollup into usage and billing, and
the same result when run twice or concurrently; paging over more users than a page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from aide.domain import collections, quota
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.users import User, quotas_for_plan
from aide.services import metering, quota_reset

DAY1 = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
AFTER = datetime(2026, 2, 1, 0, 10, tzinfo=UTC)


def seed(db: Any, users: int, calls: int) -> None:
    batch = db.batch()
    for index in range(users):
        uid = f"u{index:03d}"
        quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], DAY1)
        quotas.task_minutes.used = 7.5
        batch.set(
            db.collection(collections.USERS).document(uid),
            User(uid=uid, quotas=quotas).to_document(),
        )
    batch.commit()
    for index in range(min(users, 3)):
        snapshot = db.collection(collections.USERS).document(f"u{index:03d}").get()
        user = User.from_document(snapshot.to_dict())
        for _ in range(calls):
            assert metering.admit_call(db, user, 1, now=lambda: DAY1).admitted


def snapshot_state(db: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name in (collections.USERS, collections.USAGE, collections.BILLING):
        for doc in db.collection(name).stream():
            data = doc.to_dict()
            data.pop("updatedAt", None)
            data.pop("closedAt", None)
            state[f"{name}/{doc.id}"] = data
    return state


def test_reset_rolls_up_and_is_idempotent(fs_client: Any) -> None:
    metering.full_shards.clear()
    seed(fs_client, users=7, calls=4)

    report = quota_reset.reset_ended_periods(fs_client, now=lambda: AFTER, page_size=3)
    assert report.api_calls_reset == 7 and report.task_minutes_reset == 7 and not report.errors
    first = snapshot_state(fs_client)

    user = first["users/u000"]["quotas"]
    assert user["apiCalls"]["used"] == 0
    assert user["apiCalls"]["reset"] == quota.day_reset(AFTER)
    assert user["taskMinutes"]["used"] == 0
    assert user["taskMinutes"]["reset"] == quota.month_reset(AFTER)
    assert first["usage/u000_2026-01-31"]["apiCalls"] == 4
    billing = first["billing/u000_2026-01"]
    assert billing["apiCalls"] == 4 and billing["taskMinutes"] == 7.5
    assert first["billing/u006_2026-01"].get("apiCalls", 0) == 0

    again = quota_reset.reset_ended_periods(fs_client, now=lambda: AFTER, page_size=3)
    assert again.api_calls_reset == 0 and again.task_minutes_reset == 0
    assert snapshot_state(fs_client) == first


def test_concurrent_runs_give_the_same_result_as_one(fs_client: Any) -> None:
    metering.full_shards.clear()
    seed(fs_client, users=12, calls=2)
    reports: list[quota_reset.ResetReport] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait(timeout=30)
        reports.append(quota_reset.reset_ended_periods(fs_client, now=lambda: AFTER, page_size=5))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 3 and not any(report.errors for report in reports)
    assert sum(report.api_calls_reset for report in reports) == 12
    state = snapshot_state(fs_client)
    assert state["usage/u000_2026-01-31"]["apiCalls"] == 2
    assert state["billing/u000_2026-01"]["apiCalls"] == 2  # added once, not once per run
    assert all(
        state[f"users/u{index:03d}"]["quotas"]["apiCalls"]["used"] == 0 for index in range(12)
    )


def test_nothing_is_due_before_the_period_ends(fs_client: Any) -> None:
    seed(fs_client, users=2, calls=0)
    report = quota_reset.reset_ended_periods(fs_client, now=lambda: DAY1 + timedelta(hours=1))
    assert report.users_seen == 0
