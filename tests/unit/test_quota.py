"""Quota arithmetic: units, periods, shard slices, refusal rule, RateLimit headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aide.domain import quota
from aide.domain.quota import LimitKind, Limits, RateLimitState, ShardOutcome, UnitsPolicy
from aide.domain.users import PeriodicQuota

NOW = datetime(2026, 12, 31, 23, 59, 30, 250_000, tzinfo=UTC)


def test_units_policy_defaults_and_overrides() -> None:
    policy = UnitsPolicy(default=1, per_operation={"a.b": 5, "a.free": 0, "a.neg": -3})
    assert policy.units("x.y") == 1
    assert policy.units("a.b") == 5
    assert policy.units("a.free") == 0
    assert policy.units("a.neg") == 0
    assert quota.DEFAULT_UNITS.units("aide.entrypoints.users.get_my_usage") == 0


def test_period_keys_and_resets_are_utc_boundaries() -> None:
    assert quota.day_key(NOW) == "2026-12-31"
    assert quota.minute_key(NOW) == "2359"
    assert quota.month_key(NOW) == "2026-12"
    assert quota.day_reset(NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert quota.minute_reset(NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert quota.month_reset(NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert quota.seconds_until(quota.minute_reset(NOW), NOW) == 30
    assert quota.seconds_until(NOW, NOW) == 1


@pytest.mark.parametrize("limit", [0, 1, 7, 8, 21, 1000, 1_000_003])
def test_shard_slices_sum_to_the_limit(limit: int) -> None:
    slices = [quota.shard_allowance(limit, quota.SHARDS, shard) for shard in range(quota.SHARDS)]
    assert sum(slices) == limit
    assert max(slices) - min(slices) <= 1


def test_shard_refuses_only_past_its_slice() -> None:
    assert quota.shard_refusal(ShardOutcome(3, 1), day_allowance=3, burst_allowance=1) is None
    assert (
        quota.shard_refusal(ShardOutcome(4, 1), day_allowance=3, burst_allowance=9) is LimitKind.DAY
    )
    assert (
        quota.shard_refusal(ShardOutcome(2, 2), day_allowance=3, burst_allowance=1)
        is LimitKind.MINUTE
    )


def test_ratelimit_headers_follow_the_ietf_draft_structured_fields() -> None:
    state = RateLimitState(Limits(1000, 60), day_remaining=12, minute_remaining=-3, now=NOW)
    headers = state.headers()
    assert headers["RateLimit-Policy"] == '"day";q=1000;w=86400, "minute";q=60;w=60'
    assert headers["RateLimit"] == '"day";r=12;t=30, "minute";r=0;t=30'


def test_refusal_body_is_the_seeds_and_retry_after_points_at_the_reset() -> None:
    day = quota.refusal(LimitKind.DAY, Limits(20, 60), NOW)
    assert day.body() == {"error": "Quota exceeded", "limit": 20, "reset": "2027-01-01T00:00:00Z"}
    assert day.headers()["Retry-After"] == "30"
    minute = quota.refusal(
        LimitKind.MINUTE, Limits(20, 60), datetime(2026, 5, 1, 8, 0, 50, tzinfo=UTC)
    )
    assert minute.limit == 60 and minute.body()["reset"] == "2026-05-01T08:01:00Z"
    assert minute.headers()["Retry-After"] == "10"


def test_blocked_until_tells_the_day_from_the_minute() -> None:
    assert quota.blocked_kind(None, NOW) is None
    assert quota.blocked_kind(quota.day_reset(NOW), NOW) is LimitKind.DAY
    noon = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
    assert quota.blocked_kind(quota.minute_reset(noon), noon) is LimitKind.MINUTE
    assert quota.blocked_kind(noon, noon) is None


def test_burst_limit_falls_back_to_the_plan_default() -> None:
    assert quota.burst_limit_of(PeriodicQuota(limit=5, burst_limit=3), "free") == 3
    assert quota.burst_limit_of(PeriodicQuota(limit=5), "pro") == 600
    assert quota.burst_limit_of(PeriodicQuota(limit=5), "retired") == 60


def test_task_minutes_are_real_execution_time() -> None:
    assert quota.execution_minutes(90_000) == 1.5
    assert quota.execution_minutes(-5) == 0
