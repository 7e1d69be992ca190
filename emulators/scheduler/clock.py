"""Time as the scheduler sees it: the system clock, or a manual one tests move by hand."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current aware UTC time."""
        ...

    def sleep_until(self, moment: dt.datetime, interrupt: threading.Event) -> None:
        """Returns once `moment` is reached, `interrupt` is set, or `wake()` is called."""
        ...

    def wake(self) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep_until(self, moment: dt.datetime, interrupt: threading.Event) -> None:
        # The caller re-reads the clock afterwards, so a wall-clock jump only costs one loop.
        interrupt.wait(max((moment - self.now()).total_seconds(), 0.0))

    def wake(self) -> None:
        pass  # sleepers wait on the interrupt event, which the scheduler sets itself


class ManualClock:
    """A clock that only moves when told to; lets tests see when the scheduler goes to sleep."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)
        self._changed = threading.Condition()
        self._sleeping_until: dt.datetime | None = None

    def now(self) -> dt.datetime:
        with self._changed:
            return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        return self.set(self.now() + delta)

    def set(self, moment: dt.datetime) -> dt.datetime:
        with self._changed:
            self._now = moment.astimezone(dt.UTC)
            self._changed.notify_all()
            return self._now

    def sleep_until(self, moment: dt.datetime, interrupt: threading.Event) -> None:
        with self._changed:
            self._sleeping_until = moment
            self._changed.notify_all()
            while self._now < moment and not interrupt.is_set():
                self._changed.wait()
            self._sleeping_until = None
            self._changed.notify_all()

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for_sleeper(self, timeout: float) -> dt.datetime | None:
        """Blocks until someone sleeps towards a moment still ahead; returns that moment.

        A sleeper whose moment has been reached is on its way out, so it does not count.
        """

        def asleep() -> bool:
            return self._sleeping_until is not None and self._sleeping_until > self._now

        with self._changed:
            return self._sleeping_until if self._changed.wait_for(asleep, timeout) else None
