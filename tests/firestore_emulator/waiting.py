"""Polling instead of fixed sleeps: robust on a loaded machine, fast on an idle one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.02) -> T:
    """Return the first truthy result of ``probe``; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last result {result!r})")
        time.sleep(interval)
