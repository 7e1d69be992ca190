"""Per-project counters of billed document reads, writes and deletes (Firestore's pricing units)."""

from __future__ import annotations

import threading


class CostLedger:
    """Thread-safe counters keyed by project id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def add(self, project: str, *, reads: int = 0, writes: int = 0, deletes: int = 0) -> None:
        with self._lock:
            counts = self._counts.get(project)
            if counts is None:
                counts = self._counts[project] = {"reads": 0, "writes": 0, "deletes": 0}
            counts["reads"] += reads
            counts["writes"] += writes
            counts["deletes"] += deletes

    def get(self, project: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(project) or {"reads": 0, "writes": 0, "deletes": 0})

    def reset(self, project: str | None = None) -> None:
        with self._lock:
            if project is None:
                self._counts.clear()
            else:
                self._counts.pop(project, None)
