"""Turning HTTP-level failures of provider calls into the port's ProviderError classes."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx

from aide.domain.llm import (
    CancelToken,
    ProviderCancelled,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(parsed.timestamp() - current, 0.0)


def transport_failure(
    error: Exception, cancel: CancelToken, provider: str
) -> ProviderError | ProviderCancelled:
    """The port error for an exception raised while talking to the provider.

    A read that fails because the cancel token shut the socket down is a cancellation, whatever
    httpx calls it.
    """
    if cancel.cancelled:
        return ProviderCancelled(cancel.reason or "cancelled")
    if isinstance(error, httpx.TimeoutException):
        return ProviderTimeout(f"request timed out: {error}", provider=provider)
    return ProviderConnectionError(
        f"connection failed: {type(error).__name__}: {error}", provider=provider
    )
