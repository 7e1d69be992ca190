"""Metering admission against the Firestore emulator: exact under concurrency, burst window,
recorded exhaustion, cost per call."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.domain import collections, quota
from aide.domain.quota import LimitKind
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.users import User, quotas_for_plan
from aide.services import metering

NOW = datetime(2026, 11, 24, 10, 30, 15, tzinfo=UTC)


def make_user(db: Any, uid: str, *, limit: int, burst: int) -> User:
    quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], NOW)
    quotas.api_calls.limit = limit
    quotas.api_calls.burst_limit = burst
    user = User(uid=uid, quotas=quotas)
    db.collection(collections.USERS).document(uid).set(user.to_document())
    return user


def admitted_total(db: Any, uid: str) -> int:
    return sum(
        int((doc.to_dict() or {}).get("apiCalls", 0))
        for doc in db.collection(collections.QUOTA_COUNTERS)
        .where(filter=FieldFilter("userId", "==", uid))
        .stream()
    )


def run_concurrently(count: int, call: Any) -> list[metering.Admission]:
    results: list[metering.Admission] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)
    lock = threading.Lock()

    def worker(seed: int) -> None:
        try:
            barrier.wait(timeout=60)
            admission = call(random.Random(seed))
            with lock:
                results.append(admission)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return results


def test_exactly_the_remaining_units_are_admitted_under_concurrency(fs_client: Any) -> None:
    metering.full_shards.clear()
    user = make_user(fs_client, "u1", limit=25, burst=1000)
    for _ in range(5):
        assert metering.admit_call(fs_client, user, 1, now=lambda: NOW).admitted

    results = run_concurrently(
        50, lambda rng: metering.admit_call(fs_client, user, 1, now=lambda: NOW, rng=rng)
    )

    admitted = [result for result in results if result.admitted]
    refused = [result for result in results if not result.admitted]
    assert len(admitted) == 20 and len(refused) == 30
    assert admitted_total(fs_client, "u1") == 25
    for result in refused:
        assert result.refusal is not None and result.refusal.kind is LimitKind.DAY
        assert result.refusal.body() == {
            "error": "Quota exceeded",
            "limit": 25,
            "reset": "2026-11-25T00:00:00Z",
        }
        assert result.headers()["Retry-After"] == str(
            int((quota.day_reset(NOW) - NOW).total_seconds())
        )
    stored = fs_client.collection(collections.USERS).document("u1").get().to_dict()
    assert stored["quotas"]["apiCalls"]["blockedUntil"] == quota.day_reset(NOW)


def test_recorded_exhaustion_refuses_without_any_write(fs_client: Any) -> None:
    user = make_user(fs_client, "u2", limit=10, burst=1000)
    user.quotas.api_calls.blocked_until = quota.day_reset(NOW)
    before = {doc.id for doc in fs_client.collection(collections.QUOTA_COUNTERS).stream()}
    admission = metering.admit_call(fs_client, user, 1, now=lambda: NOW)
    assert not admission.admitted
    assert {doc.id for doc in fs_client.collection(collections.QUOTA_COUNTERS).stream()} == before


def test_burst_window_limits_calls_per_minute_and_reopens_next_minute(fs_client: Any) -> None:
    metering.full_shards.clear()
    user = make_user(fs_client, "u3", limit=1000, burst=10)
    results = run_concurrently(
        25, lambda rng: metering.admit_call(fs_client, user, 1, now=lambda: NOW, rng=rng)
    )
    assert sum(result.admitted for result in results) == 10
    refusal = next(result.refusal for result in results if result.refusal is not None)
    assert refusal.kind is LimitKind.MINUTE and refusal.limit == 10
    assert refusal.headers()["Retry-After"] == "45"
    assert "r=0" in refusal.headers()["RateLimit"]

    fresh = User.from_document(
        fs_client.collection(collections.USERS).document("u3").get().to_dict()
    )
    later = NOW + timedelta(minutes=1)
    assert metering.admit_call(fs_client, fresh, 1, now=lambda: later).admitted


def test_admitted_call_counts_once_and_carries_ratelimit_headers(fs_client: Any) -> None:
    metering.full_shards.clear()
    user = make_user(fs_client, "u4", limit=1000, burst=60)
    admission = metering.admit_call(fs_client, user, 1, now=lambda: NOW)
    headers = admission.headers()
    assert headers["RateLimit-Policy"] == '"day";q=1000;w=86400, "minute";q=60;w=60'
    assert headers["RateLimit"].startswith('"day";r=')
    assert "Retry-After" not in headers
    assert admitted_total(fs_client, "u4") == 1


def test_a_lowered_limit_mid_day_admits_exactly_the_new_remainder(fs_client: Any) -> None:
    from aide.domain.audit_logs import ActorType
    from aide.domain.audit_trail import ChangeActor
    from aide.domain.system_config import default_plans_config
    from aide.services import admin

    metering.full_shards.clear()
    plans = default_plans_config()
    # A copy: the defaults are module constants other tests rely on.
    plans.plans[PlanName.FREE] = plans.plans[PlanName.FREE].model_copy(
        update={"api_calls_per_day": 12}
    )
    fs_client.collection(collections.SYSTEM_CONFIG).document("plans").set(plans.to_document())
    make_user(fs_client, "u5", limit=1000, burst=1000)
    fs_client.collection(collections.USERS).document("u5").update({"subscription.plan": "pro"})
    user = User.from_document(
        fs_client.collection(collections.USERS).document("u5").get().to_dict()
    )
    for seed in range(9):
        assert metering.admit_call(
            fs_client, user, 1, now=lambda: NOW, rng=random.Random(seed)
        ).admitted

    actor = ChangeActor(ActorType.USER, "admin")
    lowered = admin.set_plan(fs_client, "u5", PlanName.FREE, actor, now=lambda: NOW)
    assert lowered.quotas.api_calls.limit == 12 and lowered.quotas.api_calls.generation == 1

    results = run_concurrently(
        20, lambda rng: metering.admit_call(fs_client, lowered, 1, now=lambda: NOW, rng=rng)
    )
    assert sum(result.admitted for result in results) == 3
    assert metering.day_usage(fs_client, "u5", quota.day_key(NOW), 1) == 12


def test_a_small_burst_admits_exactly_its_units_of_costly_calls(fs_client: Any) -> None:
    """The free plan's 60 units a minute are exactly 12 calls of 5 units, even concurrently
    (a small burst lives in one counter, not in eight slices that each strand units)."""
    metering.full_shards.clear()
    user = make_user(fs_client, "u6", limit=1000, burst=60)
    results = run_concurrently(
        20, lambda rng: metering.admit_call(fs_client, user, 5, now=lambda: NOW, rng=rng)
    )
    assert sum(result.admitted for result in results) == 12
    assert admitted_total(fs_client, "u6") == 60
    refused = next(result.refusal for result in results if result.refusal is not None)
    assert refused.kind is LimitKind.MINUTE


def test_a_refund_gives_back_all_but_one_unit(fs_client: Any) -> None:
    metering.full_shards.clear()
    user = make_user(fs_client, "u7", limit=1000, burst=60)
    admission = metering.admit_call(fs_client, user, 5, now=lambda: NOW)
    assert metering.refund(fs_client, admission) == 4
    assert admitted_total(fs_client, "u7") == 1
    one = metering.admit_call(fs_client, user, 1, now=lambda: NOW)
    assert metering.refund(fs_client, one) == 0
    assert admitted_total(fs_client, "u7") == 2
