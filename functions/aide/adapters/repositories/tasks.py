from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_events import TaskEvent
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import Task

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Transaction

    from aide.adapters.repositories.base import Writer

# Equality filters a task listing may combine (stored camelCase field → value). Each has a
# composite index (field, createdAt desc) in firestore.indexes.json; Firestore merges them.
TaskFilters = dict[str, str]


class TaskRepository(Repository[Task]):
    collection_name: ClassVar[str] = collections.TASKS
    model = Task

    def events(self, task_id: str) -> CollectionReference:
        return self.ref(task_id).collection(collections.TASK_EVENTS)

    def new_event_id(self, task_id: str) -> str:
        return str(self.events(task_id).document().id)

    def add_event(self, event: TaskEvent, *, writer: Writer | None = None) -> None:
        """Creates the event (fails if its id exists)."""
        ref, chosen = self.events(event.task_id).document(event.id), self._writer(writer)
        if chosen is None:
            ref.create(event.to_document())
        else:
            chosen.create(ref, event.to_document())

    def save_event(self, event: TaskEvent, *, writer: Writer | None = None) -> None:
        """Writes the event whole: writing the same event again (a retried or resumed step, whose
        event id is deterministic) changes nothing."""
        ref, chosen = self.events(event.task_id).document(event.id), self._writer(writer)
        if chosen is None:
            ref.set(event.to_document())
        else:
            chosen.set(ref, event.to_document())

    def list_events(
        self, task_id: str, *, limit: int = 100, transaction: Transaction | None = None
    ) -> list[TaskEvent]:
        query = self.events(task_id).order_by("timestamp").limit(limit)
        return [
            TaskEvent.from_document(snapshot.to_dict() or {})
            for snapshot in query.stream(transaction=self._reader(transaction))
        ]

    def stale_in_progress(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Ids of running tasks whose heartbeat is older than `cutoff`, oldest first (composite
        index status + heartbeatAt)."""
        query = (
            self.collection.where(filter=FieldFilter("status", "==", TaskStatus.IN_PROGRESS.value))
            .where(filter=FieldFilter("heartbeatAt", "<", cutoff))
            .order_by("heartbeatAt")
            .limit(limit)
        )
        return [snapshot.id for snapshot in query.stream()]

    def events_page(
        self, task_id: str, *, limit: int, after: tuple[Any, str] | None = None
    ) -> list[TaskEvent]:
        """Up to `limit` of the task's events, oldest first (ties by id), after the
        (timestamp, id) position `after` (aide.domain.page_cursor)."""
        events = self.events(task_id)
        query: Any = events.order_by("timestamp").order_by("__name__")
        if after is not None:
            timestamp, event_id = after
            query = query.start_after(
                {"timestamp": timestamp, "__name__": events.document(event_id)}
            )
        return [
            TaskEvent.from_document(snapshot.to_dict() or {})
            for snapshot in query.limit(limit).stream()
        ]

    def list_page(
        self,
        filters: TaskFilters,
        *,
        limit: int,
        after: tuple[Any, str] | None = None,
    ) -> list[Task]:
        """Up to `limit` tasks matching every filter, newest first, after position `after`."""
        conditions = [(field, "==", value) for field, value in filters.items()]
        return self.newest_page(conditions, limit=limit, after=after)
