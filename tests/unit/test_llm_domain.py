"""Value types of the LLM port: cancel tokens, error classification, streams, token estimates."""

from __future__ import annotations

import threading
import time

import pytest

from aide.adapters.llm.http_errors import retry_after_seconds
from aide.domain.llm import (
    CancelToken,
    Completion,
    InvalidProviderRequest,
    InvalidProviderResponse,
    ProviderAuthError,
    ProviderCancelled,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TextDelta,
    TokenUsage,
    collect_stream,
    error_for_status,
    estimate_tokens,
)


def test_cancel_runs_callbacks_once_and_wakes_waiters() -> None:
    cancel = CancelToken()
    calls: list[str] = []
    cancel.on_cancel(lambda: calls.append("a"))
    unregister = cancel.on_cancel(lambda: calls.append("unregistered"))
    unregister()
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: cancel.wait(30) and woke.set())
    waiter.start()

    cancel.cancel("stop")
    cancel.cancel("again")
    waiter.join(5)

    assert calls == ["a"]
    assert woke.is_set()
    assert cancel.cancelled and cancel.reason == "stop"
    with pytest.raises(ProviderCancelled, match="stop"):
        cancel.raise_if_cancelled()


def test_callback_registered_after_cancel_runs_immediately() -> None:
    cancel = CancelToken()
    cancel.cancel()
    calls: list[int] = []
    cancel.on_cancel(lambda: calls.append(1))
    assert calls == [1]


def test_wait_without_cancel_times_out() -> None:
    started = time.monotonic()
    assert CancelToken().wait(0.05) is False
    assert time.monotonic() - started >= 0.04


@pytest.mark.parametrize(
    ("status", "error_class", "transient"),
    [
        (429, RateLimited, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (408, ProviderUnavailable, True),
        (400, InvalidProviderRequest, False),
        (404, InvalidProviderRequest, False),
        (401, ProviderAuthError, False),
        (403, ProviderAuthError, False),
    ],
)
def test_http_statuses_are_classified(
    status: int, error_class: type[ProviderError], transient: bool
) -> None:
    error = error_for_status(status, "boom", provider="p", retry_after_seconds=2.0)
    assert type(error) is error_class
    assert error.transient is transient
    assert (error.status_code, error.retry_after_seconds) == (status, 2.0)
    assert str(error) == f"p: boom (HTTP {status})"


def test_cancelled_is_not_a_provider_error() -> None:
    assert not issubclass(ProviderCancelled, ProviderError)


def test_collect_stream_forwards_deltas_and_returns_the_completion() -> None:
    final = Completion("ab", TokenUsage(1, 2, 3), "m", "p")
    seen: list[str] = []
    assert collect_stream([TextDelta("a"), TextDelta("b"), final], seen.append) is final
    assert seen == ["a", "b"]
    with pytest.raises(InvalidProviderResponse):
        collect_stream([TextDelta("a")])


def test_token_usage_adds_up() -> None:
    total = TokenUsage(1, 2, 3) + TokenUsage(10, 20, 30, estimated=True)
    assert total == TokenUsage(11, 22, 33, estimated=True)


def test_estimate_counts_words_and_punctuation() -> None:
    assert estimate_tokens("Hello, world! snake_case 42") == 6
    assert estimate_tokens("") == 0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0),  # now = 60
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, now=60.0) == expected
