"""What every `python -m emulators.<name>` process does the same way: serve in the foreground
until SIGINT (Ctrl-C) or SIGTERM, then shut down cleanly."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signals() -> threading.Event:
    """An event SIGINT and SIGTERM set; the process waits on it, then stops what it started.

    Setting an event (rather than raising KeyboardInterrupt) lets shutdown run in the main
    thread's `finally` without being cut short by a second signal's exception.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop


def default_admin_port(port: int, admin_port: int | None) -> int:
    """An emulator's admin API sits next to its main port unless told otherwise (any free port
    when the main port is 0)."""
    if admin_port is not None:
        return admin_port
    return port + 1 if port else 0
