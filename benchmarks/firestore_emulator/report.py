"""Turn the figures of both emulators into JSON and a markdown table with ratios."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

# (key, label, higher_is_better)
ROWS = [
    ("commits_per_s", "single-document commits / s", True),
    ("read_p50_ms", "point read p50 (ms)", False),
    ("read_p95_ms", "point read p95 (ms)", False),
    ("query_p50_ms", "query over 10,000 docs p50 (ms)", False),
    ("query_p95_ms", "query over 10,000 docs p95 (ms)", False),
    ("seed_10k_s", "seeding 10,000 docs in 500-write batches (s)", False),
]


def speedup(ours: float, peer: float, higher_is_better: bool) -> float:
    """How many times better ours is (> 1: ours is faster)."""
    if higher_is_better:
        return ours / peer if peer else float("inf")
    return peer / ours if ours else float("inf")


def build(
    ours: dict[str, Any],
    peer: dict[str, Any] | None,
    peer_error: str | None,
    direct: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ratios = {}
    if peer is not None:
        ratios = {key: speedup(ours[key], peer[key], higher) for key, _, higher in ROWS}
    multiplexed = {}
    if direct is not None:
        multiplexed = {key: speedup(ours[key], direct[key], higher) for key, _, higher in ROWS}
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "ours": ours,
        "peer": peer,
        "peer_error": peer_error,
        "speedup_ours_over_peer": ratios,
        "ours_direct": direct,
        "public_port_vs_direct": multiplexed,
    }


def markdown(result: dict[str, Any]) -> str:
    ours, peer, ratios = result["ours"], result["peer"], result["speedup_ours_over_peer"]
    lines = [
        "# Firestore emulator benchmark",
        "",
        "`python -m benchmarks.firestore_emulator`: this repository's emulator "
        "(`python -m emulators.firestore`) against the npm peer `@firestore-emulator/server` "
        "(pinned in benchmarks/peer), same official Python client, same machine, one run; both "
        "run at once and every phase alternates rounds between them, so background load hits "
        "both alike.",
        "Speedup > 1 means ours is better (higher throughput or lower latency).",
        "",
        "| figure | ours | peer | speedup (ours vs peer) |",
        "|---|---:|---:|---:|",
    ]
    for key, label, _ in ROWS:
        peer_cell = f"{peer[key]:.2f}" if peer else "n/a"
        ratio_cell = f"{ratios[key]:.2f}x" if ratios else "n/a"
        lines.append(f"| {label} | {ours[key]:.2f} | {peer_cell} | {ratio_cell} |")
    lines.append("")
    correct_peer = "n/a" if peer is None else peer["query_correct"]
    lines.append(
        f"Query result identical to Firestore's (status == open ORDER BY priority DESC LIMIT 100): "
        f"ours {ours['query_correct']}, peer {correct_peer}."
    )
    costs = ours.get("cost_per_operation") or {}
    if costs:
        lines += [
            "",
            "Billed operations per API call, from our emulator's cost accounting "
            "(Firestore bills a query max(n, 1) reads):",
            "",
            "| operation | reads | writes | deletes |",
            "|---|---:|---:|---:|",
        ]
        for operation, counts in costs.items():
            cells = " | ".join(
                f"{counts.get(kind, 0):g}" for kind in ("reads", "writes", "deletes")
            )
            lines.append(f"| {operation} | {cells} |")
    direct, multiplexed = result.get("ours_direct"), result.get("public_port_vs_direct")
    if direct and multiplexed:
        lines += [
            "",
            "What the one public port costs (gRPC and HTTP/1.1 multiplexed; gRPC connections "
            "joined to grpcio's Unix socket by a splice pump): the same emulator in the same run, "
            "reached through the public port and directly on grpcio's own TCP port (`--grpc-port`,"
            " the path every gRPC client had before the port served browsers too); "
            "ratio < 1: the public port is slower.",
            "",
            "| figure | public port | direct | ratio (public vs direct) |",
            "|---|---:|---:|---:|",
        ]
        for key, label, _ in ROWS:
            lines.append(
                f"| {label} | {ours[key]:.2f} | {direct[key]:.2f} | {multiplexed[key]:.2f}x |"
            )
    if result["peer_error"]:
        lines.append(f"\nPeer failed: {result['peer_error']}")
    lines.append(
        f"\nMachine: {result['machine']['platform']}, Python {result['machine']['python']}."
    )
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "firestore_emulator.json"
    md_path = directory / "firestore_emulator.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(result), encoding="utf-8")
    return json_path, md_path
