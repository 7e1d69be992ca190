"""Structured log lines (one JSON object per line with `severity`), as Cloud Logging reads them.

One logger for every emulator of the local platform, each naming itself as `component`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from typing import Any, TextIO


class JsonLog:
    def __init__(self, component: str, stream: TextIO | None = None) -> None:
        self._component = component
        # None means "sys.stderr at write time", so pytest's capture and redirection still apply.
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, severity: str, message: str, **fields: Any) -> None:
        entry = {
            "severity": severity,
            "message": message,
            "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "component": self._component,
            **fields,
        }
        line = json.dumps(entry, default=str)
        stream = self._stream or sys.stderr
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
