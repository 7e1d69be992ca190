"""Batched loaders: no N+1 in nested fields.

graphql-core resolves synchronously, field by field; a list's items are all in hand before any
of their nested fields resolves. So whoever returns documents announces the keys their joins
will ask for (`want`), and the first `load` fetches every announced key not yet fetched in one
round trip. A page of 20 tasks with their agents costs the page's reads plus one read per
distinct agent (none within the agent cache's TTL), whatever the number of tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from aide.domain.agents import Agent
from aide.domain.tasks import Task

if TYPE_CHECKING:
    from google.cloud.firestore import Client

V = TypeVar("V")


class BatchLoader(Generic[V]):
    def __init__(self, fetch: Callable[[list[str]], dict[str, V]]) -> None:
        self._fetch = fetch
        self._wanted: set[str] = set()
        self._found: dict[str, V | None] = {}
        self.batches = 0

    def want(self, keys: Iterable[str | None]) -> None:
        self._wanted.update(key for key in keys if key and key not in self._found)

    def prime(self, key: str, value: V) -> None:
        self._found[key] = value

    def load(self, key: str) -> V | None:
        if key not in self._found:
            self.load_many([key])
        return self._found.get(key)

    def load_many(self, keys: list[str]) -> list[V]:
        self.want(keys)
        pending = sorted(self._wanted - self._found.keys())
        if pending:
            self.batches += 1
            fetched = self._fetch(pending)
            for key in pending:
                self._found[key] = fetched.get(key)
            self._wanted.clear()
        return [value for key in keys if (value := self._found.get(key)) is not None]


@dataclass
class Loaders:
    agents: BatchLoader[Agent]
    tasks: BatchLoader[Task]
    _seen: set[str] = field(default_factory=set)

    def saw_tasks(self, tasks: Iterable[Task]) -> list[Task]:
        """Announce the joins of tasks being returned (their agents, dependencies, subtasks)."""
        tasks = list(tasks)
        for task in tasks:
            self.tasks.prime(task.id, task)
            self.agents.want([task.agent_id])
            self.tasks.want([*task.dependencies, *task.subtask_ids])
        return tasks


def new_loaders(db: Client, user_id: str) -> Loaders:
    from aide.services import graph_reads

    return Loaders(
        agents=BatchLoader(lambda ids: graph_reads.agents_by_id(db, ids)),
        tasks=BatchLoader(lambda ids: graph_reads.readable_tasks_by_id(db, user_id, ids)),
    )
