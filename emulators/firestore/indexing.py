"""Which projects have index enforcement on, and with which ``firestore.indexes.json``.

Enforcement is on for every project when the emulator starts with ``--indexes FILE``, and can
be switched per project through the admin API. The checks themselves live in ``indexes.py``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

_OFF = object()


class IndexPolicy:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._default: Any = None
        self._per_project: dict[str, Any] = {}

    def load_default(self, path: str | Path) -> None:
        """Enforce the indexes in ``path`` for every project without its own setting."""
        from emulators.firestore.indexes import IndexConfig

        config = IndexConfig.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        with self._lock:
            self._default = config

    def set_project(self, project: str, indexes_json: dict[str, Any] | None) -> None:
        """Enforce ``indexes_json`` for ``project``; ``None`` (or ``{"enforce": false}``) = off."""
        if indexes_json is None or indexes_json.get("enforce") is False:
            config: Any = _OFF
        else:
            from emulators.firestore.indexes import IndexConfig

            config = IndexConfig.from_json(indexes_json)
        with self._lock:
            self._per_project[project] = config

    def reset_project(self, project: str) -> None:
        with self._lock:
            self._per_project.pop(project, None)

    def check(self, project: str, parent: str, query: Any) -> None:
        """Raise FAILED_PRECONDITION if enforcement is on and ``query`` needs a missing index."""
        config = self._config(project)
        if config is not None:
            from emulators.firestore.indexes import check_query

            check_query(config, parent, query)

    def check_aggregation(self, project: str, parent: str, aggregation: Any) -> None:
        """Like ``check``; sum and avg also need their field indexed."""
        config = self._config(project)
        if config is not None:
            from emulators.firestore.indexes import check_aggregation

            check_aggregation(config, parent, aggregation)

    def _config(self, project: str) -> Any:
        config = self._per_project.get(project, self._default)
        return None if config is _OFF else config
