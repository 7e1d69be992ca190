"""The measured operations, run through the official Python client.

Both emulators run at once and every phase alternates short rounds between them, so a burst of
background load on this shared machine hits both sides alike instead of skewing one run.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.firestore_emulator.servers import Target

ROUNDS = 5
COMMITS_PER_ROUND = 100
READS_PER_ROUND = 200
QUERIES_PER_ROUND = 4
QUERY_DOCS = 10_000
QUERY_LIMIT = 100
BATCH_SIZE = 500
READ_DOCS = 100
STATUSES = ("open", "done", "blocked", "review")


@dataclass
class Figures:
    commits_per_s: float
    read_p50_ms: float
    read_p95_ms: float
    query_p50_ms: float
    query_p95_ms: float
    query_docs_returned: int
    query_correct: bool
    seed_10k_s: float
    # Billed operations per API call, from our emulator's cost accounting (empty for the peer).
    cost_per_operation: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client(host: str) -> Any:
    """A Client on a fresh project of the emulator at ``host``.

    The client reads FIRESTORE_EMULATOR_HOST once, in its constructor, so two clients on two
    emulators can coexist.
    """
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        return firestore.Client(
            project=f"bench-{uuid.uuid4().hex[:8]}", credentials=AnonymousCredentials()
        )
    finally:
        if previous is None:
            del os.environ["FIRESTORE_EMULATOR_HOST"]
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


class CostMeter:
    """Reads our emulator's per-project billed counts around one measured phase."""

    def __init__(self, admin_url: str | None, project: str) -> None:
        self.url = (
            None if admin_url is None else f"{admin_url}/emulator/v1/projects/{project}/costs"
        )

    def _call(self, method: str) -> dict[str, Any]:
        assert self.url is not None
        request = urllib.request.Request(self.url, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def reset(self) -> None:
        if self.url is not None:
            self._call("DELETE")

    def per_operation(self, operations: int) -> dict[str, float]:
        if self.url is None:
            return {}
        counts = self._call("GET")
        return {
            kind: counts[kind] / operations
            for kind in ("reads", "writes", "deletes")
            if isinstance(counts.get(kind), int)
        }


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _items() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(42)
    return [
        (
            f"item{i:05d}",
            {
                "status": rng.choice(STATUSES),
                "priority": rng.randrange(1000),
                "title": f"item {i}",
                "tags": rng.sample(["a", "b", "c", "d"], 2),
            },
        )
        for i in range(QUERY_DOCS)
    ]


def expected_query_ids(items: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """What Firestore returns: priority descending, then __name__ descending (implicit)."""
    matching = (item for item in items if item[1]["status"] == "open")
    ordered = sorted(matching, key=lambda item: (item[1]["priority"], item[0]), reverse=True)
    return [doc_id for doc_id, _ in ordered[:QUERY_LIMIT]]


class Session:
    """One emulator under test: its client, cost meter and collected samples."""

    def __init__(self, target: Target) -> None:
        self.client = _client(target.host)
        self.meter = CostMeter(target.admin_url, self.client.project)
        self.commit_seconds = 0.0
        self.commits = 0
        self.read_ms: list[float] = []
        self.query_ms: list[float] = []
        self.query_ids: list[str] = []
        self.seed_s = 0.0
        self.costs: dict[str, dict[str, float]] = {}
        self._rng = random.Random(7)
        from google.cloud.firestore_v1.base_query import FieldFilter

        self.query = (
            self.client.collection("items")
            .where(filter=FieldFilter("status", "==", "open"))
            .order_by("priority", direction="DESCENDING")
            .limit(QUERY_LIMIT)
        )

    def warm_up(self) -> None:
        writes = self.client.collection("writes")
        for i in range(20):
            writes.document(f"warm{i}").set({"n": i})
        batch = self.client.batch()
        reads = self.client.collection("reads")
        for i in range(READ_DOCS):
            batch.set(reads.document(f"r{i}"), {"n": i, "payload": "x" * 200})
        batch.commit()
        for i in range(20):
            reads.document(f"r{i}").get()

    def commit_round(self) -> None:
        writes = self.client.collection("writes")
        start = time.perf_counter()
        for _ in range(COMMITS_PER_ROUND):
            i = self.commits
            writes.document(f"d{i}").set({"n": i, "title": f"task {i}", "done": False})
            self.commits += 1
        self.commit_seconds += time.perf_counter() - start

    def read_round(self) -> None:
        reads = self.client.collection("reads")
        for _ in range(READS_PER_ROUND):
            ref = reads.document(f"r{self._rng.randrange(READ_DOCS)}")
            start = time.perf_counter()
            snapshot = ref.get()
            self.read_ms.append((time.perf_counter() - start) * 1000)
            assert snapshot.exists

    def seed_items(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        col = self.client.collection("items")
        start = time.perf_counter()
        for offset in range(0, len(items), BATCH_SIZE):
            batch = self.client.batch()
            for doc_id, data in items[offset : offset + BATCH_SIZE]:
                batch.set(col.document(doc_id), data)
            batch.commit()
        self.seed_s = time.perf_counter() - start
        self.query.get()

    def query_round(self) -> None:
        for _ in range(QUERIES_PER_ROUND):
            start = time.perf_counter()
            self.query_ids = [snapshot.id for snapshot in self.query.stream()]
            self.query_ms.append((time.perf_counter() - start) * 1000)

    def measured(self, name: str, operations: int, phase: Any) -> None:
        """Run ``phase`` with the cost meter around it (costs recorded per operation)."""
        self.meter.reset()
        phase()
        cost = self.meter.per_operation(operations)
        if cost:
            self.costs[name] = cost

    def figures(self, expected_ids: list[str]) -> Figures:
        return Figures(
            commits_per_s=self.commits / self.commit_seconds,
            read_p50_ms=_percentile(self.read_ms, 0.5),
            read_p95_ms=_percentile(self.read_ms, 0.95),
            query_p50_ms=statistics.median(self.query_ms),
            query_p95_ms=_percentile(self.query_ms, 0.95),
            query_docs_returned=len(self.query_ids),
            query_correct=self.query_ids == expected_ids,
            seed_10k_s=self.seed_s,
            cost_per_operation=self.costs,
        )

    def close(self) -> None:
        self.client.close()


def measure(targets: dict[str, Target]) -> dict[str, Figures]:
    """Figures per target name; phases alternate rounds between the targets."""
    sessions = {name: Session(target) for name, target in targets.items()}
    try:
        for session in sessions.values():
            session.warm_up()
        for _ in range(ROUNDS):
            for session in sessions.values():
                session.measured("commit", COMMITS_PER_ROUND, session.commit_round)
        for _ in range(ROUNDS):
            for session in sessions.values():
                session.measured("point_read", READS_PER_ROUND, session.read_round)
        items = _items()
        for session in sessions.values():
            session.seed_items(items)
        for _ in range(ROUNDS):
            for session in sessions.values():
                session.measured("query_limit_100", QUERIES_PER_ROUND, session.query_round)
        expected = expected_query_ids(items)
        return {name: session.figures(expected) for name, session in sessions.items()}
    finally:
        for session in sessions.values():
            session.close()
