"""`python -m benchmarks.metering [--users N] [--check]`

Against this project's Firestore emulator (firestore.indexes.json enforced), measures:
- the Firestore operations and the latency metering adds to one call (aide.services.metering):
  admitted (the hot path), refused by a full shard, refused from the recorded exhaustion;
- one user's 50 concurrent callers: calls/s through admission and errors (contention) seen;
- the scheduled reset (aide.services.quota_reset) for N users (default 10,000): reads, writes
  and wall time, and a second run's cost (nothing due: the idempotent no-op).
Writes benchmarks/results/metering.{md,json}; `--check` exits non-zero when the hot path costs
more than 1 write or any read.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from aide.domain import collections  # noqa: E402
from aide.domain.system_config import DEFAULT_PLANS, PlanName  # noqa: E402
from aide.domain.users import User, quotas_for_plan  # noqa: E402
from aide.services import metering, quota_reset  # noqa: E402
from benchmarks.scratch_project import scratch_project  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


class Bench:
    def __init__(self) -> None:
        from emulators.firestore import FirestoreEmulator

        self.firestore = FirestoreEmulator(indexes_path=ROOT / "firestore.indexes.json").start()

    def close(self) -> None:
        self.firestore.stop()

    def project(self) -> AbstractContextManager[tuple[str, Any]]:
        return scratch_project(self.firestore)


def make_user(db: Any, uid: str, *, limit: int, burst: int, at: datetime = NOW) -> User:
    quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], at)
    quotas.api_calls.limit = limit
    quotas.api_calls.burst_limit = burst
    user = User(uid=uid, quotas=quotas)
    db.collection(collections.USERS).document(uid).set(user.to_document())
    return user


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def hot_path(bench: Bench, calls: int) -> dict[str, Any]:
    with bench.project() as (project, db):
        user = make_user(db, "hot", limit=1_000_000, burst=1_000_000)
        metering.admit_call(db, user, 1, now=lambda: NOW)  # warm the channel
        bench.firestore.reset_costs(project)
        latencies = []
        for _ in range(calls):
            started = time.perf_counter()
            assert metering.admit_call(db, user, 1, now=lambda: NOW).admitted
            latencies.append((time.perf_counter() - started) * 1000)
        costs = bench.firestore.costs(project)
    return {
        "calls": calls,
        "reads_per_call": costs["reads"] / calls,
        "writes_per_call": costs["writes"] / calls,
        "latency_ms_p50": round(statistics.median(latencies), 3),
        "latency_ms_p95": round(percentile(latencies, 0.95), 3),
    }


def refusal_paths(bench: Bench) -> dict[str, Any]:
    metering.full_shards.clear()
    with bench.project() as (project, db):
        user = make_user(db, "full", limit=8, burst=1000)
        for seed in range(8):
            assert metering.admit_call(
                db, user, 1, now=lambda: NOW, rng=random.Random(seed)
            ).admitted
        metering.full_shards.clear()  # a cold instance: it does not know the shards are full
        bench.firestore.reset_costs(project)
        assert not metering.admit_call(db, user, 1, now=lambda: NOW).admitted
        discovering = bench.firestore.costs(project)
        blocked = User.from_document(
            db.collection(collections.USERS).document("full").get().to_dict()
        )
        bench.firestore.reset_costs(project)
        started = time.perf_counter()
        assert not metering.admit_call(db, blocked, 1, now=lambda: NOW).admitted
        blocked_ms = (time.perf_counter() - started) * 1000
        after = bench.firestore.costs(project)
    return {
        "first_refusal_cold_instance": {
            "reads": discovering["reads"],
            "writes": discovering["writes"],
        },
        "refusal_after_recorded_exhaustion": {
            "reads": after["reads"],
            "writes": after["writes"],
            "latency_ms": round(blocked_ms, 3),
        },
    }


def concurrency(bench: Bench, threads: int, per_thread: int) -> dict[str, Any]:
    with bench.project() as (_project, db):
        user = make_user(db, "busy", limit=1_000_000, burst=1_000_000)
        errors: list[str] = []
        admitted = [0]
        lock = threading.Lock()
        barrier = threading.Barrier(threads)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            barrier.wait(timeout=60)
            for _ in range(per_thread):
                try:
                    ok = metering.admit_call(db, user, 1, now=lambda: NOW, rng=rng).admitted
                except Exception as error:  # contention or transport errors are what we count
                    with lock:
                        errors.append(type(error).__name__)
                    continue
                with lock:
                    admitted[0] += int(ok)

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
        counted = metering.day_usage(db, "busy", NOW.date().isoformat(), 0)
    return {
        "threads": threads,
        "calls": threads * per_thread,
        "admitted": admitted[0],
        "counted": counted,
        "errors": len(errors),
        "calls_per_second": round(threads * per_thread / elapsed, 1),
    }


def reset_job(bench: Bench, users: int, active: int) -> dict[str, Any]:
    day = NOW - timedelta(days=1)
    after = NOW.replace(hour=0, minute=10)
    with bench.project() as (project, db):
        for start in range(0, users, 500):
            batch = db.batch()
            for index in range(start, min(users, start + 500)):
                uid = f"user{index:06d}"
                quotas = quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], day)
                batch.set(
                    db.collection(collections.USERS).document(uid),
                    User(uid=uid, quotas=quotas).to_document(),
                )
            batch.commit()
        for index in range(active):
            snapshot = db.collection(collections.USERS).document(f"user{index:06d}").get()
            user = User.from_document(snapshot.to_dict())
            for _ in range(3):
                metering.admit_call(db, user, 1, now=lambda: day)
        bench.firestore.reset_costs(project)
        started = time.perf_counter()
        report = quota_reset.reset_ended_periods(db, now=lambda: after)
        elapsed = time.perf_counter() - started
        costs = bench.firestore.costs(project)
        bench.firestore.reset_costs(project)
        again = quota_reset.reset_ended_periods(db, now=lambda: after)
        second = bench.firestore.costs(project)
    return {
        "users": users,
        "active_users": active,
        "api_calls_reset": report.api_calls_reset,
        "errors": len(report.errors),
        "reads": costs["reads"],
        "writes": costs["writes"],
        "reads_per_user": round(costs["reads"] / users, 2),
        "writes_per_user": round(costs["writes"] / users, 2),
        "seconds": round(elapsed, 1),
        "second_run": {
            "reset": again.api_calls_reset,
            "reads": second["reads"],
            "writes": second["writes"],
        },
    }


def write_report(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "metering.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    hot, refusals, busy, reset = (
        results["hot_path"],
        results["refusals"],
        results["concurrency"],
        results["reset_job"],
    )
    lines = [
        "# Metering and quota reset costs",
        "",
        f"Local Firestore emulator, {results['machine']}; `python -m benchmarks.metering`.",
        "",
        "## Per metered call (hot path: admitted)",
        "",
        "| reads/call | writes/call | added latency p50 (ms) | p95 (ms) | calls |",
        "|---|---|---|---|---|",
        f"| {hot['reads_per_call']:.2f} | {hot['writes_per_call']:.2f} | {hot['latency_ms_p50']} "
        f"| {hot['latency_ms_p95']} | {hot['calls']} |",
        "",
        "Authentication already reads users/{uid}; metering adds one blind write (Increment with",
        "transform results) to one of the counter shards and no read.",
        "",
        "## Refusals",
        "",
        "- first refusal on a cold instance (probes every shard, gives units back, records the",
        f"  exhaustion): {refusals['first_refusal_cold_instance']['reads']} reads, "
        f"{refusals['first_refusal_cold_instance']['writes']} writes",
        f"- every later refusal (exhaustion recorded on the user document already read): "
        f"{refusals['refusal_after_recorded_exhaustion']['reads']} reads, "
        f"{refusals['refusal_after_recorded_exhaustion']['writes']} writes, "
        f"{refusals['refusal_after_recorded_exhaustion']['latency_ms']} ms",
        "",
        "## One user, concurrent callers",
        "",
        f"{busy['threads']} threads x {busy['calls'] // busy['threads']} calls: "
        f"{busy['calls_per_second']} calls/s through admission, {busy['errors']} errors, "
        f"admitted {busy['admitted']}, counted {busy['counted']}.",
        "",
        f"## Scheduled reset, {reset['users']:,} users ({reset['active_users']:,} with calls)",
        "",
        "| reads | writes | reads/user | writes/user | seconds | errors |",
        "|---|---|---|---|---|---|",
        f"| {reset['reads']} | {reset['writes']} | {reset['reads_per_user']} | "
        f"{reset['writes_per_user']} | {reset['seconds']} | {reset['errors']} |",
        "",
        f"Second run right after (nothing due): {reset['second_run']['reads']} reads, "
        f"{reset['second_run']['writes']} writes, {reset['second_run']['reset']} resets.",
        "",
    ]
    (RESULTS / "metering.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.metering")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    bench = Bench()
    try:
        results: dict[str, Any] = {
            "machine": f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.machine()}",
            "hot_path": hot_path(bench, args.calls),
            "refusals": refusal_paths(bench),
            "concurrency": concurrency(bench, threads=50, per_thread=10),
            "reset_job": reset_job(bench, args.users, min(args.active, args.users)),
        }
    finally:
        bench.close()
    write_report(results)
    print((RESULTS / "metering.md").read_text(encoding="utf-8"))
    hot = results["hot_path"]
    if args.check and (hot["reads_per_call"] > 0 or hot["writes_per_call"] > 1):
        print("hot path over budget (0 reads, 1 write per call)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
