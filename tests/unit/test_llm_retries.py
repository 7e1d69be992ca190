"""call_with_retries: backoff, jitter, Retry-After, attempt numbering, cancellation (fake clock)."""

from __future__ import annotations

import threading

import pytest

from aide.adapters.llm.retries import (
    NO_RETRIES,
    RetryAttempt,
    RetryPolicy,
    backoff_delay,
    call_with_retries,
)
from aide.domain.llm import (
    CancelToken,
    InvalidProviderRequest,
    ProviderAuthError,
    ProviderCancelled,
    ProviderUnavailable,
    RateLimited,
)

POLICY = RetryPolicy(max_attempts=4, initial_backoff_seconds=1.0, multiplier=2.0, jitter=0.2)


class FakeClock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def failing_then(results: list[Exception | str]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def call(attempt: int) -> str:
        calls.append(attempt)
        result = results[len(calls) - 1]
        if isinstance(result, Exception):
            raise result
        return result

    return call, calls


def test_transient_errors_are_retried_with_exponential_backoff_and_recorded() -> None:
    call, calls = failing_then([ProviderUnavailable("down"), ProviderUnavailable("down"), "ok"])
    clock, retries = FakeClock(), []

    result = call_with_retries(
        call, POLICY, CancelToken(), retries.append, sleep=clock.sleep, unit_random=lambda: 0.5
    )

    assert result == "ok"
    assert calls == [1, 2, 3]
    assert clock.sleeps == [1.0, 2.0]
    assert [(r.attempt, r.delay_seconds) for r in retries] == [(1, 1.0), (2, 2.0)]
    assert all(isinstance(r, RetryAttempt) and r.error.message == "down" for r in retries)


@pytest.mark.parametrize(("unit_random", "factor"), [(0.0, 0.8), (0.999999, 1.2)])
def test_jitter_scales_the_delay_within_its_bounds(unit_random: float, factor: float) -> None:
    assert backoff_delay(POLICY, 3, None, unit_random) == pytest.approx(4.0 * factor, rel=1e-5)


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, max_backoff_seconds=5.0, jitter=0.0)
    assert backoff_delay(policy, 9, None, 0.5) == 5.0


def test_retry_after_from_the_server_replaces_the_backoff() -> None:
    call, _ = failing_then([RateLimited("slow down", retry_after_seconds=7.5), "ok"])
    clock = FakeClock()

    call_with_retries(call, POLICY, CancelToken(), sleep=clock.sleep, unit_random=lambda: 0.5)

    assert clock.sleeps == [7.5]


def test_retry_after_beyond_the_policy_limit_gives_up_at_once() -> None:
    call, calls = failing_then([RateLimited("daily quota", retry_after_seconds=3600)])
    with pytest.raises(RateLimited) as raised:
        call_with_retries(call, POLICY, CancelToken(), sleep=FakeClock().sleep)
    assert calls == [1]
    assert raised.value.attempts == 1


@pytest.mark.parametrize("error", [ProviderAuthError("bad key"), InvalidProviderRequest("bad")])
def test_permanent_errors_are_not_retried(error: Exception) -> None:
    call, calls = failing_then([error])
    clock = FakeClock()
    with pytest.raises(type(error)):
        call_with_retries(call, POLICY, CancelToken(), sleep=clock.sleep)
    assert calls == [1]
    assert clock.sleeps == []


def test_gives_up_after_max_attempts_with_the_last_error_and_its_attempt_count() -> None:
    call, calls = failing_then([ProviderUnavailable(f"down {n}") for n in range(1, 5)])
    with pytest.raises(ProviderUnavailable) as raised:
        call_with_retries(call, POLICY, CancelToken(), sleep=FakeClock().sleep)
    assert calls == [1, 2, 3, 4]
    assert raised.value.message == "down 4"
    assert raised.value.attempts == 4


def test_no_retries_policy_makes_one_attempt() -> None:
    call, calls = failing_then([ProviderUnavailable("down")])
    with pytest.raises(ProviderUnavailable):
        call_with_retries(call, NO_RETRIES, CancelToken(), sleep=FakeClock().sleep)
    assert calls == [1]


def test_cancel_during_backoff_stops_without_another_attempt() -> None:
    cancel = CancelToken()
    call, calls = failing_then([ProviderUnavailable("down"), "never reached"])

    def sleep(_seconds: float) -> None:
        cancel.cancel("user cancelled")

    with pytest.raises(ProviderCancelled, match="user cancelled"):
        call_with_retries(call, POLICY, cancel, sleep=sleep)
    assert calls == [1]


def test_default_sleep_wakes_up_on_cancel() -> None:
    cancel = CancelToken()
    call, calls = failing_then([RateLimited("wait", retry_after_seconds=30.0), "never reached"])
    threading.Timer(0.1, cancel.cancel).start()

    with pytest.raises(ProviderCancelled):
        call_with_retries(call, RetryPolicy(max_retry_after_seconds=60), cancel)
    assert calls == [1]


def test_already_cancelled_token_makes_no_attempt() -> None:
    cancel = CancelToken()
    cancel.cancel()
    call, calls = failing_then(["never reached"])
    with pytest.raises(ProviderCancelled):
        call_with_retries(call, POLICY, cancel)
    assert calls == []


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
