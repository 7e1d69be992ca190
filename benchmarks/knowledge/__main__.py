"""`python -m benchmarks.knowledge [--sizes 1000,10000] [--queries N]`

queryKnowledge against this project's Firestore emulator (firestore.indexes.json enforced, vector
index included): query latency and billed document reads per query (the emulator's per-project
cost counters, FirestoreEmulator.costs) with 1,000 and 10,000 entities in the project, and
recall@3 on the project's own retrieval set (benchmarks/knowledge/retrieval_set.json, paraphrased
questions sharing no word with their target) with the local all-MiniLM-L6-v2 model.

The scale graphs are written through the knowledge service itself (create_entities /
create_relations, 100 per request). Their vectors: all-MiniLM-L6-v2 at 1,000 entities; at 10,000
the deterministic hashing embedder (same 384 dimensions), because embedding 20,000 texts with
MiniLM takes minutes on two cores — vector search cost does not depend on which model made the
vectors, only recall does, and recall is measured on the retrieval set. Latency includes
embedding the query (reported separately). Writes benchmarks/results/knowledge.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from aide.adapters.embeddings import Embedder  # noqa: E402
from aide.adapters.embeddings.hashing import HashingEmbedder  # noqa: E402
from aide.adapters.embeddings.local_minilm import LocalMiniLmEmbedder  # noqa: E402
from aide.domain.knowledge import EntityInput, KnowledgeQuery, RelationInput  # noqa: E402
from aide.services import knowledge, knowledge_search  # noqa: E402
from aide.services.knowledge import KnowledgeScope  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RETRIEVAL_SET = Path(__file__).resolve().parent / "retrieval_set.json"
MINILM_UP_TO = 1000
BATCH = 100

AREAS = [
    "payments",
    "search",
    "checkout",
    "shipping",
    "identity",
    "analytics",
    "billing",
    "catalogue",
    "notifications",
    "inventory",
    "pricing",
    "reviews",
    "support",
    "fraud",
]
KINDS = [
    "service",
    "database",
    "queue",
    "person",
    "team",
    "library",
    "job",
    "dashboard",
    "incident",
    "decision",
]
FACTS = [
    "owns the {area} roadmap and reviews changes to it",
    "stores {area} records and is backed up nightly",
    "was migrated to the new {area} platform last quarter",
    "alerts the on-call engineer when {area} latency degrades",
    "depends on the {area} API for every request",
    "caches {area} lookups for five minutes",
    "publishes {area} events to the message bus",
    "had an outage caused by a bad {area} deploy",
]
QUERIES = [
    "who is responsible for card payments",
    "where are shipping records kept",
    "what caused the outage in checkout",
    "which job sends notification emails",
    "how is fraud detected",
    "inventory cache expiry",
    "reviews moderation team",
    "pricing service dependencies",
    "identity provider migration",
    "analytics dashboard for latency",
]


@dataclass
class Row:
    entities: int
    mode: str
    embedder: str
    queries: int
    latency_p50_ms: float
    latency_p95_ms: float
    embed_p50_ms: float
    reads_mean: float
    reads_max: int


def synthetic_graph(size: int, seed: int = 7) -> tuple[list[EntityInput], list[RelationInput]]:
    rng = random.Random(seed)
    entities, relations = [], []
    for index in range(size):
        area, kind = rng.choice(AREAS), rng.choice(KINDS)
        name = f"{area.title()} {kind.title()} {index}"
        fact = rng.choice(FACTS).format(area=area)
        entities.append(
            EntityInput.model_validate({"name": name, "entityType": kind, "observations": [fact]})
        )
        if index:
            parent = entities[rng.randrange(index)].name
            relations.append(
                RelationInput.model_validate(
                    {"from": name, "to": parent, "relationType": "depends on"}
                )
            )
    return entities, relations


def populate(db: Any, embedder: Embedder, scope: KnowledgeScope, size: int) -> float:
    entities, relations = synthetic_graph(size)
    started = time.perf_counter()
    for start in range(0, len(entities), BATCH):
        knowledge.create_entities(db, embedder, scope, entities[start : start + BATCH])
    for start in range(0, len(relations), BATCH):
        knowledge.create_relations(db, scope, relations[start : start + BATCH])
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_queries(
    emulator: Any,
    project: str,
    db: Any,
    embedder: Embedder,
    scope: KnowledgeScope,
    size: int,
    mode: str,
    requests: list[KnowledgeQuery],
) -> Row:
    latencies, embeds, reads = [], [], []
    knowledge_search.query_knowledge(db, embedder, scope, requests[0])  # warm connections
    for request in requests:
        started = time.perf_counter()
        embedder.embed([request.query])
        embeds.append((time.perf_counter() - started) * 1000)
        emulator.reset_costs(project)
        started = time.perf_counter()
        knowledge_search.query_knowledge(db, embedder, scope, request)
        latencies.append((time.perf_counter() - started) * 1000)
        reads.append(emulator.costs(project)["reads"])
    return Row(
        entities=size,
        mode=mode,
        embedder=embedder.name,
        queries=len(requests),
        latency_p50_ms=round(statistics.median(latencies), 1),
        latency_p95_ms=round(percentile(latencies, 0.95), 1),
        embed_p50_ms=round(statistics.median(embeds), 1),
        reads_mean=round(statistics.mean(reads), 1),
        reads_max=max(reads),
    )


def query_modes(count: int) -> dict[str, list[KnowledgeQuery]]:
    texts = [QUERIES[n % len(QUERIES)] for n in range(count)]
    return {
        "hybrid, limit 10": [KnowledgeQuery(query=t, limit=10) for t in texts],
        "+ type filter": [
            KnowledgeQuery(query=t, limit=10, entity_types=["service"]) for t in texts
        ],
        "+ focal rerank": [
            KnowledgeQuery(query=t, limit=10, focal_entity="Payments Service 0") for t in texts
        ],
        "+ 1-hop context": [KnowledgeQuery(query=t, limit=10, hops=1) for t in texts],
    }


def recall_at_3(db: Any, embedder: Embedder) -> tuple[float, list[dict[str, Any]]]:
    data = json.loads(RETRIEVAL_SET.read_text(encoding="utf-8"))
    scope = KnowledgeScope("bench-user", "bookshop")
    knowledge.create_entities(
        db, embedder, scope, [EntityInput.model_validate(e) for e in data["entities"]]
    )
    knowledge.create_relations(
        db, scope, [RelationInput.model_validate(r) for r in data["relations"]]
    )
    cases = []
    for case in data["queries"]:
        result = knowledge_search.query_knowledge(
            db, embedder, scope, KnowledgeQuery(query=case["query"], limit=3)
        )
        names = [hit.entity.name for hit in result.hits]
        rank = names.index(case["target"]) + 1 if case["target"] in names else None
        cases.append({"query": case["query"], "target": case["target"], "rank": rank})
    found = sum(1 for case in cases if case["rank"] is not None)
    return found / len(cases), cases


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.knowledge")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=10)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]

    from benchmarks.scratch_project import scratch_project
    from emulators.firestore import FirestoreEmulator

    emulator = FirestoreEmulator(indexes_path=ROOT / "firestore.indexes.json").start()
    minilm, hashing = LocalMiniLmEmbedder(), HashingEmbedder()
    rows: list[Row] = []
    populate_seconds: dict[int, float] = {}
    try:
        with scratch_project(emulator) as (_, db):
            started = time.perf_counter()
            recall, cases = recall_at_3(db, minilm)
            recall_seconds = time.perf_counter() - started
            print(f"recall@3 {recall:.2f} ({recall_seconds:.0f} s incl. model load)", flush=True)

        for size in sizes:
            with scratch_project(emulator) as (project, db):
                embedder: Embedder = minilm if size <= MINILM_UP_TO else hashing
                scope = KnowledgeScope("bench-user", f"scale-{size}")
                populate_seconds[size] = populate(db, embedder, scope, size)
                print(f"{size} entities written in {populate_seconds[size]:.0f} s", flush=True)
                for mode, requests in query_modes(args.queries).items():
                    row = measure_queries(
                        emulator, project, db, embedder, scope, size, mode, requests
                    )
                    rows.append(row)
                    print(row, flush=True)
    finally:
        emulator.stop()

    write_report(rows, recall, cases, populate_seconds)
    return 0


def write_report(
    rows: list[Row],
    recall: float,
    cases: list[dict[str, Any]],
    populate_seconds: dict[int, float],
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    (RESULTS / "knowledge.json").write_text(
        json.dumps(
            {
                **meta,
                "recall_at_3": recall,
                "retrieval_cases": cases,
                "rows": [asdict(row) for row in rows],
                "populate_seconds": populate_seconds,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    lines = [
        "# Knowledge graph: queryKnowledge latency, reads per query, recall@3",
        "",
        f"{meta['date']} · Python {meta['python']} · {meta['machine']} · "
        "this project's Firestore emulator in-process, indexes enforced. "
        "Regenerate with `python -m benchmarks.knowledge`.",
        "",
        "## Recall@3 on the retrieval set",
        "",
        f"**{recall:.0%}** ({sum(1 for c in cases if c['rank'])}/{len(cases)}) of paraphrased "
        "questions (no word shared with the target) have their target among the top 3 hits "
        "(all-MiniLM-L6-v2, hybrid scoring).",
        "",
        "| query | target | rank |",
        "| --- | --- | --- |",
        *[f"| {c['query']} | {c['target']} | {c['rank'] or 'miss'} |" for c in cases],
        "",
        "## Latency and billed reads per query",
        "",
        "Latency is the whole service call (query embedding, vector search, keyword search, "
        "loading hits, observations and relations); reads are the documents Firestore bills "
        "for it. Each row: the same query texts, limit 10.",
        "",
        "| entities | query | vectors | p50 ms | p95 ms | embed p50 ms | reads mean | reads max |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {r.entities:,} | {r.mode} | {r.embedder} | {r.latency_p50_ms} | "
            f"{r.latency_p95_ms} | {r.embed_p50_ms} | {r.reads_mean} | {r.reads_max} |"
            for r in rows
        ],
        "",
        "Writing the graphs through the service (100 entities with one observation each per "
        "transaction, then relations): "
        + ", ".join(f"{size:,} entities in {secs:.0f} s" for size, secs in populate_seconds.items())
        + ".",
        "",
        "Notes: reads per query are bounded by the candidate limits (4 times the limit from "
        "the vector search and from the keyword search, then the hits, their observations "
        "and relations), "
        "not by the size of the graph. 10,000-entity vectors come from the hashing embedder "
        "(see the module docstring); the emulator's vector search is an exact scan, so its "
        "latency grows with the scope's size where production Firestore uses its vector index. "
        "Latencies are wall-clock on a 2-core machine shared with other work, so noisy; the "
        "reads columns are the stable measure.",
        "",
    ]
    (RESULTS / "knowledge.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
