"""Per-instance TTL caches for documents many requests read and few writes change (cachetools).

The guide's CacheService: `get_or_set`, `get_many`, `invalidate`, `invalidate_all`. A write made
by this instance invalidates its entry at once; a write made by another instance is seen when
the entry expires, so staleness is bounded by the TTL (documented per cache below and in the
README). Entries are immutable pydantic models, shared between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from functools import cache
from typing import Final, Generic, TypeVar

from cachetools import TTLCache

from aide.domain.agents import Agent

V = TypeVar("V")
K = TypeVar("K", bound=Hashable)

AGENT_TTL_S: Final = 30.0
"""An agent's document (name, provider, limits, status) may be this old in a join."""


class ReadCache(Generic[K, V]):
    def __init__(self, *, maxsize: int, ttl: float, key_of: Callable[[V], K]) -> None:
        self._entries: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()
        self._key_of = key_of
        self.hits = 0
        self.misses = 0

    def get_or_set(self, key: K, factory: Callable[[], V | None]) -> V | None:
        with self._lock:
            if key in self._entries:
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = factory()
        if value is not None:
            with self._lock:
                self._entries[key] = value
        return value

    def get_many(self, keys: Iterable[K], fetch: Callable[[list[K]], list[V]]) -> dict[K, V]:
        """The values of `keys` that exist: cached ones as they are, the others fetched in one
        call (`fetch(missing)` answers the values that exist)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[K, V] = {}
        with self._lock:
            for key in wanted:
                if key in self._entries:
                    found[key] = self._entries[key]
            self.hits += len(found)
            missing = [key for key in wanted if key not in found]
            self.misses += len(missing)
        if missing:
            fetched = {self._key_of(value): value for value in fetch(missing)}
            with self._lock:
                self._entries.update(fetched)
            found.update(fetched)
        return found

    def invalidate(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def invalidate_all(self) -> None:
        with self._lock:
            self._entries.clear()


@cache
def agent_cache() -> ReadCache[str, Agent]:
    return ReadCache(maxsize=1_000, ttl=AGENT_TTL_S, key_of=lambda agent: agent.id)
