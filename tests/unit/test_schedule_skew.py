"""Sweepers judge staleness by the schedule time: the skew is how far it is ahead of the clock."""

from datetime import UTC, datetime, timedelta

from aide.domain.timestamps import schedule_skew

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_late_run_has_negative_skew_and_early_run_positive() -> None:
    assert schedule_skew(NOW - timedelta(minutes=3), NOW) == timedelta(minutes=-3)
    assert schedule_skew(NOW + timedelta(seconds=90), NOW) == timedelta(seconds=90)


def test_no_or_naive_schedule_time_is_no_skew() -> None:
    assert schedule_skew(None, NOW) == timedelta(0)
    assert schedule_skew(datetime(2026, 5, 1, 13, 0), NOW) == timedelta(0)
