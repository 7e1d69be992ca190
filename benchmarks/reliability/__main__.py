"""`make chaos`: the reliability soak — faults injected under sustained load, then invariants.

    python -m benchmarks.reliability --duration 600 --users 12 --workers 6 --seed 1

Writes benchmarks/results/reliability.md (figures and the invariant table) and exits 1 when an
invariant is violated. `--duration` defaults to a short run so that `make bench` stays short;
`make chaos` runs the 10-minute soak whose figures the README quotes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

from benchmarks.reliability.driver import ChaosConfig, ChaosResult, chaos_stack, run
from benchmarks.reliability.faults import FaultRates
from benchmarks.reliability.invariants import table

RESULTS = Path(__file__).resolve().parents[1] / "results"


def report(result: ChaosResult, command: str) -> str:
    config = result.config
    calls = result.log.calls
    answered = [c for c in calls if c.status is not None]
    latency = result.latency_ms()
    created = len(result.log.created_tasks)
    finished = sum(result.tasks_by_status.get(s, 0) for s in ("completed", "failed", "cancelled"))
    statuses: dict[str, int] = {}
    for call in calls:
        key = str(call.status) if call.status is not None else "no answer"
        statuses[key] = statuses.get(key, 0) + 1
    lines = [
        "# Reliability soak",
        "",
        f"`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores; load average when it ended (1/5/15 min): "
        + "/".join(f"{value:.1f}" for value in os.getloadavg())
        + " — the stack itself keeps the cores busy; more than that means other work shared "
        "them and the figures are a floor.",
        "",
        f"Seed {config.seed}, {config.users} users, {config.workers} concurrent clients, "
        f"groups of {config.group_sizes[0]}-{config.group_sizes[1]} tasks, at most "
        f"{config.task_rate:g} tasks created per second, "
        f"push failures {config.rates.push_failure:.0%}, lost push answers "
        f"{config.rates.push_timeout:.0%}, trigger loss {config.rates.trigger_loss:.0%}, "
        f"duplicate delivery {'on' if config.rates.duplicate_delivery else 'off'}, provider "
        f"faults in {config.rates.provider_faults:.0%} of single tasks, sweeper bound "
        f"{'real (2 min stale + cadence)' if config.real_sweeper_bound else 'skewed clock'}.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| load phase | {result.elapsed_s:.0f} s |",
        f"| requests | {len(calls)} ({len(answered) / result.elapsed_s:.1f} requests/s answered) |",
        f"| latency p50 / p95 / p99 | {latency.get('p50', 0):.0f} / {latency.get('p95', 0):.0f}"
        f" / {latency.get('p99', 0):.0f} ms |",
        f"| answers | {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} |",
        f"| tasks created (acknowledged) | {created} ({created / result.elapsed_s:.1f} tasks/s) |",
        f"| tasks in Firestore at the end | {result.tasks_total}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.tasks_by_status.items()))
        + " |",
        f"| tasks finished per second (load + settle) | "
        f"{finished / (result.elapsed_s + result.settle_s):.1f} |",
        f"| settle (faults off, sweepers, idle) | {result.settle_s:.0f} s |",
    ]
    for kind, values in sorted(result.recoveries.items()):
        shown = ", ".join(f"{v:.1f}" for v in values)
        lines.append(f"| recovery: {kind} | {shown} s |")
    lines += ["", "| fault / operation injected | count |", "| --- | ---: |"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(result.injected.items())]
    checked = sum(c.checked for c in result.checks)
    lines += [
        "",
        f"Invariants: {len(result.checks)} checks over {checked} items; "
        f"{'all hold' if result.ok else 'VIOLATED'}.",
        "",
        table(result.checks),
        "",
    ]
    process_faults = [(at, what) for at, what in result.timeline if "sweep" not in what]
    if process_faults or not result.ok:
        # A violation's history (times in UTC) lines up against this; sweeps only when one shows.
        shown = result.timeline if not result.ok else process_faults
        lines += ["Fault timeline (UTC):", ""]
        lines += [f"- {at:%H:%M:%S.%f} {what}" for at, what in shown[:200]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-group", type=int, default=200)
    parser.add_argument("--task-rate", type=float, default=3.0, help="tasks created per second")
    parser.add_argument("--kills", type=int, default=None, help="default: one per 3 minutes")
    parser.add_argument("--real-sweeper-bound", action="store_true")
    args = parser.parse_args(argv)
    config = ChaosConfig(
        seed=args.seed,
        duration_s=args.duration,
        users=args.users,
        workers=args.workers,
        group_sizes=(10, args.max_group),
        task_rate=args.task_rate,
        rates=FaultRates(),
        kills=args.kills if args.kills is not None else max(1, int(args.duration // 180)),
        firestore_restarts=1,
        sweep_every_s=60.0 if args.real_sweeper_bound else 8.0,
        real_sweeper_bound=args.real_sweeper_bound,
        settle_timeout_s=600.0,
    )
    command = "python -m benchmarks.reliability " + " ".join(argv)
    started = time.monotonic()
    with chaos_stack() as stack:
        result = run(config, stack)
    text = report(result, command.strip())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reliability.md").write_text(text)
    summary = {
        "ok": result.ok,
        "elapsed_s": round(time.monotonic() - started, 1),
        "latency_ms": result.latency_ms(),
        "injected": result.injected,
        "recoveries": result.recoveries,
        "violations": {c.name: c.violations[:20] for c in result.checks if c.violations},
        "exceptions": {c.name: c.exceptions[:20] for c in result.checks if c.exceptions},
    }
    (RESULTS / "reliability.json").write_text(json.dumps(summary, indent=2, default=str))
    print(text)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
