"""`python -m benchmarks.graphql`: the GraphQL gateway and the event streams on the local stack
(real Auth-emulator tokens, this project's Firestore emulator with its cost counters).

- list 20 tasks: REST GET /tasks vs the GraphQL query (latency p50/p95, Firestore reads), and
  the same page with each task's agent joined (batched loader + agent cache);
- reads per authenticated request with an agent join, first call vs later calls (the cache);
- commit → SSE event latency (a task document written, the taskUpdated result received);
- 100 concurrent SSE subscribers on one functions-host process: memory and CPU of the host,
  events lost.
Writes benchmarks/results/graphql.{md,json}.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from emulators.stack.stack import LocalStack  # noqa: E402
from tests.fixtures.stack import PlatformHandle  # noqa: E402
from tests.support.sse import EventReader  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DESCRIPTION = "A description that is long enough."
ROUNDS = 60
SUBSCRIBERS = 100
UPDATES = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(call: Any, rounds: int) -> list[float]:
    latencies = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = call()
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return latencies


def reads_of(stack: PlatformHandle, call: Any) -> int:
    stack.reset_costs()
    assert call().status_code == 200
    return int(stack.costs()["reads"])


def host_usage(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    threads = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads")
    )
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"rssMiB": rss_kb / 1024, "threads": threads, "cpuSeconds": cpu_s}


def main() -> int:
    local = LocalStack(indexes=ROOT / "firestore.indexes.json", run_schedules=False)
    local.start()
    stack = PlatformHandle(local)
    try:
        return run(stack, local)
    finally:
        stack.close()
        local.stop()


def run(stack: PlatformHandle, local: LocalStack) -> int:
    user = stack.create_user()
    headers = user.headers
    session = requests.Session()
    session.get(stack.url("users", "/me"), headers=headers, timeout=60)
    stack.db.collection("users").document(user.uid).update(
        {"quotas.apiCalls.limit": 1_000_000, "quotas.apiCalls.burstLimit": 1_000_000}
    )
    ids = []
    for index in range(20):
        body = {
            "title": f"Bench {index}",
            "description": DESCRIPTION,
            "agentId": "coder",
            "inputs": {"providerOptions": {"steps": 1, "latency": 600}},
        }
        created = session.post(stack.url("tasks"), json=body, headers=headers, timeout=60)
        ids.append(created.json()["data"]["task"]["id"])
    for task_id in ids:  # no run reads anything while we count
        session.post(stack.url("tasks", f"/{task_id}/cancel"), headers=headers, timeout=60)
    stack.wait_idle()

    def rest() -> requests.Response:
        return session.get(stack.url("tasks"), params={"limit": 20}, headers=headers, timeout=60)

    def gql(query: str) -> Any:
        return lambda: session.post(
            stack.url("graphql"), json={"query": query}, headers=headers, timeout=60
        )

    plain = gql("{ tasks(first: 20) { nodes { id title status priority createdAt } } }")
    joined = gql("{ tasks(first: 20) { nodes { id title status agent { id name status } } } }")
    results: dict[str, Any] = {"machine": platform.platform(), "cpus": os.cpu_count()}
    # Before the agent cache holds the agent (this host process has not read it yet).
    cold_reads = reads_of(stack, joined)
    for call in (rest, plain, joined):
        timed(call, 5)  # warm up
    rest_ms, plain_ms, joined_ms = [], [], []
    for _ in range(ROUNDS):  # interleaved, so that load on the machine hits all three alike
        rest_ms += timed(rest, 1)
        plain_ms += timed(plain, 1)
        joined_ms += timed(joined, 1)
    results["latencyMs"] = {
        name: {"p50": statistics.median(v), "p95": percentile(v, 0.95)}
        for name, v in (("rest", rest_ms), ("graphql", plain_ms), ("graphqlWithAgents", joined_ms))
    }
    results["p50Ratio"] = {
        "graphqlVsRest": statistics.median(plain_ms) / statistics.median(rest_ms),
        "graphqlWithAgentsVsRest": statistics.median(joined_ms) / statistics.median(rest_ms),
    }
    results["reads"] = {
        "rest": reads_of(stack, rest),
        "graphql": reads_of(stack, plain),
        "graphqlWithAgentsCold": cold_reads,
        "graphqlWithAgentsCached": reads_of(stack, joined),
    }

    # Commit → event latency.
    task_id = ids[0]
    response = requests.post(
        stack.url("graphql"),
        params={"window": 50},
        json={
            "query": "subscription($id: ID!) { taskUpdated(id: $id) { id progress } }",
            "variables": {"id": task_id},
        },
        headers={**headers, "Accept": "text/event-stream"},
        stream=True,
        timeout=60,
    )
    # A cancelled task completes its subscription at once: use a fresh, waiting one instead.
    response.close()
    waiting = session.post(
        stack.url("tasks"),
        json={
            "title": "Watched",
            "description": DESCRIPTION,
            "dependencies": [
                session.post(
                    stack.url("tasks"),
                    json={
                        "title": "Gate",
                        "description": DESCRIPTION,
                        "agentId": "coder",
                        "inputs": {"providerOptions": {"steps": 1, "latency": 600}},
                    },
                    headers=headers,
                    timeout=60,
                ).json()["data"]["task"]["id"]
            ],
        },
        headers=headers,
        timeout=60,
    ).json()["data"]["task"]["id"]
    query = {
        "query": "subscription($id: ID!) { taskUpdated(id: $id) { id estimatedDuration } }",
        "variables": {"id": waiting},
    }
    reader = EventReader(
        requests.post(
            stack.url("graphql"),
            params={"window": 50},
            json=query,
            headers={**headers, "Accept": "text/event-stream"},
            stream=True,
            timeout=60,
        )
    )
    assert reader.listening.wait(30)
    reader.next(30)  # the current state
    latencies = []
    for index in range(40):
        started = time.perf_counter()
        stack.db.collection("tasks").document(waiting).update(
            {"estimatedDuration": float(index + 1), "updatedAt": datetime.now(UTC)}
        )
        event = reader.next(30)
        assert event is not None and event.event == "next"
        latencies.append((event.received_at - started) * 1000)
    reader.close()
    results["commitToEventMs"] = {
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
    }

    # 100 subscribers on one host process.
    pid = next(c for c in local.children if c.name == "functions").pid
    before = host_usage(pid)
    readers = []
    for _ in range(SUBSCRIBERS):
        readers.append(
            EventReader(
                requests.post(
                    stack.url("graphql"),
                    params={"window": 50},
                    json=query,
                    headers={**headers, "Accept": "text/event-stream"},
                    stream=True,
                    timeout=60,
                )
            )
        )
    for r in readers:
        assert r.listening.wait(60)
        r.next(30)
    connected = host_usage(pid)
    started = time.perf_counter()
    for index in range(UPDATES):
        stack.db.collection("tasks").document(waiting).update(
            {"estimatedDuration": 1000.0 + index, "updatedAt": datetime.now(UTC)}
        )
        time.sleep(0.2)
    received = []
    for r in readers:
        got = 0
        while got < UPDATES:
            event = r.next(30)
            if event is None:
                break
            got += event.event == "next"
        received.append(got)
    elapsed = time.perf_counter() - started
    after = host_usage(pid)
    for r in readers:
        r.close()
    results["subscribers"] = {
        "count": SUBSCRIBERS,
        "updates": UPDATES,
        "eventsLost": SUBSCRIBERS * UPDATES - sum(received),
        "hostRssMiB": {
            "before": before["rssMiB"],
            "connected": connected["rssMiB"],
            "perSubscriberKiB": (connected["rssMiB"] - before["rssMiB"]) * 1024 / SUBSCRIBERS,
        },
        "hostThreads": {"before": before["threads"], "connected": connected["threads"]},
        "hostCpuSecondsForFanOut": after["cpuSeconds"] - connected["cpuSeconds"],
        "fanOutWallSeconds": elapsed,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "graphql.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# GraphQL gateway and event streams",
        "",
        "```json",
        json.dumps(results, indent=2),
        "```",
        "",
    ]
    (RESULTS / "graphql.md").write_text("\n".join(lines))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
