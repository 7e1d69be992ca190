"""Retrying transient provider errors inside one agent step: exponential backoff with jitter.

Pure logic: the clock (sleep) and randomness are injectable so tests run instantly. The default
sleep is the cancel token's wait, so a cancel during a backoff ends the loop at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aide.domain.llm import CancelToken, ProviderCancelled, ProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    multiplier: float = 2.0
    # Each delay is scaled by a random factor in [1 - jitter, 1 + jitter] so that many tasks
    # throttled at once do not retry in lockstep.
    jitter: float = 0.2
    # A Retry-After longer than this (e.g. a daily quota) is not worth waiting for inside a step.
    max_retry_after_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")


NO_RETRIES = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class RetryAttempt:
    """One failed attempt that will be retried after `delay_seconds`."""

    attempt: int  # 1-based number of the attempt that failed
    error: ProviderError
    delay_seconds: float


def backoff_delay(
    policy: RetryPolicy, failed_attempt: int, retry_after_seconds: float | None, unit_random: float
) -> float:
    """Seconds to wait after `failed_attempt` failed; `unit_random` is uniform in [0, 1)."""
    base = min(
        policy.max_backoff_seconds,
        policy.initial_backoff_seconds * policy.multiplier ** (failed_attempt - 1),
    )
    if retry_after_seconds is not None and retry_after_seconds > 0:
        # The server knows when its capacity returns (the same rule the OpenAI SDK follows).
        return retry_after_seconds
    return base * (1 + policy.jitter * (2 * unit_random - 1))


def call_with_retries(
    call: Callable[[int], T],
    policy: RetryPolicy,
    cancel: CancelToken,
    on_retry: Callable[[RetryAttempt], None] | None = None,
    *,
    sleep: Callable[[float], object] | None = None,
    unit_random: Callable[[], float] = random.random,
) -> T:
    """Run `call(attempt)` (attempt is 1-based) until it succeeds or fails for good.

    Transient ProviderErrors are retried up to `policy.max_attempts` in total; permanent ones,
    ProviderCancelled and any other exception propagate at once. The final error carries
    `attempts`. `on_retry` sees every failed attempt that is going to be retried.
    """
    wait = sleep if sleep is not None else cancel.wait
    attempt = 1
    while True:
        cancel.raise_if_cancelled()
        try:
            return call(attempt)
        except ProviderCancelled:
            raise
        except ProviderError as error:
            error.attempts = attempt
            if not error.transient or attempt >= policy.max_attempts:
                raise
            retry_after = error.retry_after_seconds
            if retry_after is not None and retry_after > policy.max_retry_after_seconds:
                raise
            delay = backoff_delay(policy, attempt, retry_after, unit_random())
            if on_retry is not None:
                on_retry(RetryAttempt(attempt=attempt, error=error, delay_seconds=delay))
            wait(delay)
            cancel.raise_if_cancelled()
            attempt += 1
