"""Task-minute and storage charging against the Firestore emulator: real execution time,
exactly once per task id / key, refusal when over."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from aide.domain import collections
from aide.domain.quota import QuotaExhausted
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.users import User, quotas_for_plan
from aide.services import quota_charges

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make_user(db: Any, uid: str, *, minutes_limit: int = 2, storage_limit: int = 1000) -> None:
    quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], NOW)
    quotas.task_minutes.limit = minutes_limit
    quotas.storage_bytes.limit = storage_limit
    db.collection(collections.USERS).document(uid).set(User(uid=uid, quotas=quotas).to_document())


def stored(db: Any, uid: str) -> dict[str, Any]:
    return dict(db.collection(collections.USERS).document(uid).get().to_dict()["quotas"])


def test_task_minutes_are_charged_once_from_execution_time(fs_client: Any) -> None:
    make_user(fs_client, "u1")
    quota_charges.check_task_minutes(fs_client, "u1", now=lambda: NOW)
    results: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                quota_charges.charge_task_minutes(fs_client, "u1", "t1", 90_000, now=lambda: NOW)
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, False, False, True]
    assert stored(fs_client, "u1")["taskMinutes"]["used"] == 1.5
    usage = fs_client.collection(collections.USAGE).document("u1_2026-03-10").get().to_dict()
    assert usage["taskMinutes"] == 1.5 and usage["tasksCompleted"] == 1

    assert quota_charges.charge_task_minutes(fs_client, "u1", "t2", 60_000, now=lambda: NOW)
    with pytest.raises(QuotaExhausted) as refused:
        quota_charges.check_task_minutes(fs_client, "u1", now=lambda: NOW)
    assert refused.value.body()["limit"] == 2
    assert refused.value.body()["reset"] == "2026-04-01T00:00:00Z"


def test_storage_is_refused_past_the_limit_and_charged_once_per_key(fs_client: Any) -> None:
    make_user(fs_client, "u2", storage_limit=1000)
    assert quota_charges.charge_storage(fs_client, "u2", 600, "obj-a", now=lambda: NOW)
    assert not quota_charges.charge_storage(fs_client, "u2", 600, "obj-a", now=lambda: NOW)
    with pytest.raises(QuotaExhausted):
        quota_charges.charge_storage(fs_client, "u2", 500, "obj-b", now=lambda: NOW)
    assert stored(fs_client, "u2")["storageBytes"]["used"] == 600
    # A refused charge left no marker: once there is room the same key is charged.
    assert quota_charges.charge_storage(fs_client, "u2", -600, "del-a", now=lambda: NOW)
    assert quota_charges.charge_storage(fs_client, "u2", 500, "obj-b", now=lambda: NOW)
    assert stored(fs_client, "u2")["storageBytes"]["used"] == 500
