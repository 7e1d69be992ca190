"""Start the two emulators under test as subprocesses bound to 127.0.0.1 on free ports."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emulators.stack.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PEER_DIR = REPO / "benchmarks" / "peer"
READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Target:
    """A running emulator: its gRPC ``host:port`` and, for ours, the admin API base URL."""

    host: str
    admin_url: str | None = None
    # Ours only: grpcio's own TCP port, the gRPC path without the public port's multiplexer
    # (what every gRPC client used before the port served HTTP/1.1 too).
    direct_host: str | None = None


def ensure_peer_installed() -> None:
    """``npm ci`` the pinned peer into benchmarks/peer/node_modules unless already there."""
    if (PEER_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is required to install the peer emulator")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=PEER_DIR,
        check=True,
        timeout=300,
    )


def _wait_for_line(process: subprocess.Popen[str], pattern: re.Pattern[str]) -> re.Match[str]:
    """The first stdout line matching ``pattern``; stdout is drained afterwards so the child
    never blocks on a full pipe."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=READY_TIMEOUT_S)
        except queue.Empty as exc:
            raise RuntimeError(f"{process.args!r} did not become ready") from exc
        if line is None:
            raise RuntimeError(f"{process.args!r} exited with {process.wait()}")
        match = pattern.search(line)
        if match:
            return match


@contextlib.contextmanager
def _running(args: list[str], cwd: Path, pattern: str) -> Iterator[tuple[str, re.Match[str]]]:
    """Run ``args`` until the context exits; yields ``127.0.0.1:<port>`` from its ready line."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        match = _wait_for_line(process, re.compile(pattern))
        yield f"127.0.0.1:{match.group('port')}", match
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def ours() -> Iterator[Target]:
    """This repository's emulator (``python -m emulators.firestore``)."""
    admin_port = free_port()
    args = [sys.executable, "-m", "emulators.firestore", "--host", "127.0.0.1", "--port", "0"]
    args += ["--admin-port", str(admin_port), "--grpc-port", "0"]
    pattern = (
        r"Firestore emulator ready on [\d.]+:(?P<port>\d+) \(gRPC direct on (?P<direct>[\d.:]+)\)"
    )
    with _running(args, REPO, pattern) as (host, match):
        yield Target(host, f"http://127.0.0.1:{admin_port}", match.group("direct"))


@contextlib.contextmanager
def peer() -> Iterator[Target]:
    """The npm peer, through benchmarks/peer/start.js."""
    ensure_peer_installed()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is required to run the peer emulator")
    with _running([node, "start.js", "0"], PEER_DIR, r"ready (?P<port>\d+)") as (host, _):
        yield Target(host)
