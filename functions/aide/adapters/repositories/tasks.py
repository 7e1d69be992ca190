from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.task_events import TaskEvent
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
        ref = self.events(event.task_id).document(event.id)
        if writer is None:
            ref.create(event.to_document())
        else:
            writer.create(ref, event.to_document())

    def list_events(
        self, task_id: str, *, limit: int = 100, transaction: Transaction | None = None
    ) -> list[TaskEvent]:
        query = self.events(task_id).order_by("timestamp").limit(limit)
        return [
            TaskEvent.from_document(snapshot.to_dict() or {})
            for snapshot in query.stream(transaction=transaction)
        ]

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
