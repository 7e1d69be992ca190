"""Commit timestamps: microsecond integers that strictly increase across the whole emulator.

Firestore timestamps have microsecond precision and every commit gets a later time than the one
before it; tests that compare ``update_time`` values rely on both.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

_lock = threading.Lock()
_last_micros = 0


def next_commit_micros() -> int:
    """A wall-clock time in microseconds, later than every value returned before."""
    global _last_micros
    with _lock:
        now = time.time_ns() // 1000
        _last_micros = now if now > _last_micros else _last_micros + 1
        return _last_micros


def now_micros() -> int:
    """The latest committed time (or now): a read at this time sees every finished commit."""
    with _lock:
        return max(time.time_ns() // 1000, _last_micros)


def to_timestamp(micros: int) -> Timestamp:
    seconds, rest = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=rest * 1000)


def set_timestamp(target: Timestamp, micros: int) -> None:
    seconds, rest = divmod(micros, 1_000_000)
    target.seconds = seconds
    target.nanos = rest * 1000


def from_timestamp(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000 + ts.nanos // 1000


def rfc3339(micros: int) -> str:
    seconds, rest = divmod(micros, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{rest:06d}Z"
