"""A Firestore listener on one running task: it cancels the run's CancelToken as soon as the task
stops being this attempt's (cancelled, failed or completed elsewhere, claimed by another
attempt), so that an in-flight provider call is aborted rather than waited for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.task_lifecycle import TaskStatus
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.domain.llm import CancelToken

log = get_logger(__name__)


class TaskWatcher:
    """Cancels `cancel` as soon as the task stops being this attempt's."""

    def __init__(self, db: Client, task_id: str, attempt: int, cancel: CancelToken) -> None:
        self._cancel = cancel
        self._attempt = attempt
        self._watch: Any = None
        try:
            self._watch = TaskRepository(db).ref(task_id).on_snapshot(self._on_snapshot)
        except Exception:
            # The step transactions still check ownership; only in-flight aborts are lost.
            log.warning("task listener unavailable; cancellation checked between steps only")

    def _on_snapshot(self, snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        for snapshot in snapshots:
            data = snapshot.to_dict() or {}
            if data.get("status") != TaskStatus.IN_PROGRESS.value:
                self._cancel.cancel(f"task is {data.get('status', 'gone')}")
            elif int(data.get("attempts", 0)) != self._attempt:
                self._cancel.cancel("task was claimed by another attempt")

    def close(self) -> None:
        if self._watch is not None:
            try:
                self._watch.unsubscribe()
            except Exception:
                # Closing a listener must not turn a finished run into a failed one.
                log.warning("could not close the task listener")
