"""``python -m benchmarks.browser_protocol``: the Firestore emulator's browser side, one run.

1. **Commit → onSnapshot latency**: one document watched at once by the Firebase JS web SDK
   in headless Chromium (WebChannel, streaming) and by the Python client's gRPC listener;
   ``COMMITS`` sequential commits from the Python client, each one's arrival time taken in
   both listeners' callbacks (the page's clock is the epoch clock too). p50 / p95 side by side.
2. **Many sessions**: ``SESSIONS`` browser-style Listen sessions (the WebChannel wire format
   spoken by Python threads: a handshake adding a document target, then a streaming back
   channel) held for ``HOLD_S`` seconds while every document changes once a second; the
   emulator process's CPU and memory, and whether every session saw every change.

Results: benchmarks/results/browser_protocol.{json,md}.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

from benchmarks.firestore_emulator.servers import REPO, _wait_for_line
from emulators.stack.ports import free_port
from tests.fixtures.browser import CHROMIUM_ARGS

COMMITS = 200
SESSIONS = 200
HOLD_S = 60.0
PROJECT = "bench-browser"
DATABASE = f"projects/{PROJECT}/databases/(default)"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Emulator:
    """``python -m emulators.firestore`` on free ports, with its pid for /proc readings."""

    def __init__(self) -> None:
        import re

        admin_port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emulators.firestore",
                "--port",
                "0",
                "--admin-port",
                str(admin_port),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        match = _wait_for_line(self.process, re.compile(r"ready on [\d.]+:(?P<port>\d+)"))
        self.port = int(match.group("port"))
        self.address = f"127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def admin_client(address: str) -> Any:
    from emulators.stack.clients import firestore_client

    return firestore_client(address, PROJECT)


# ---------------------------------------------------------------------------- latency


def serve_app(directory: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def measure_latency(emulator: Emulator) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.fixtures.browser import build_bundle, chromium_path

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium: install Debian's chromium package")
    app_dir = build_bundle(Path(tempfile.mkdtemp(prefix="bench-browser-app-")))
    server = serve_app(app_dir)
    db = admin_client(emulator.address)
    doc = db.collection("latency").document("watched")
    doc.set({"seq": -1})
    grpc_seen: dict[int, float] = {}
    grpc_event = threading.Event()

    def on_grpc(snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        now = time.time()
        for snapshot in snapshots:
            seq = (snapshot.to_dict() or {}).get("seq", -1)
            grpc_seen.setdefault(seq, now)
        grpc_event.set()

    watch = doc.on_snapshot(on_grpc)
    committed: dict[int, float] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("document.getElementById('status').textContent === 'ready'")
            page.evaluate(
                "([port, project]) => aide.open('bench', {projectId: project, authUrl: "
                "'http://127.0.0.1:9', host: '127.0.0.1', port, mode: 'streaming'})",
                [emulator.port, PROJECT],
            )
            page.evaluate("() => aide.watch('doc', fs.doc(aide.db('bench'), 'latency/watched'))")
            page.wait_for_function("() => aide.log('doc').some(s => s.data && s.data.seq === -1)")
            for seq in range(COMMITS):
                committed[seq] = time.time()
                doc.set({"seq": seq})
                deadline = time.monotonic() + 10
                while seq not in grpc_seen and time.monotonic() < deadline:
                    grpc_event.wait(0.01)
                    grpc_event.clear()
                page.wait_for_function(
                    "seq => aide.log('doc').some(s => s.data && s.data.seq >= seq)", arg=seq
                )
            log = page.evaluate("() => aide.log('doc')")
            browser.close()
    finally:
        watch.unsubscribe()
        db.close()
        server.shutdown()
    browser_seen: dict[int, float] = {}
    for snapshot in log:
        if snapshot.get("data"):
            browser_seen.setdefault(snapshot["data"]["seq"], snapshot["at"] / 1000)
    browser_ms = [(browser_seen[s] - committed[s]) * 1000 for s in committed if s in browser_seen]
    grpc_ms = [(grpc_seen[s] - committed[s]) * 1000 for s in committed if s in grpc_seen]
    return {
        "commits": COMMITS,
        "browser_received": len(browser_ms),
        "grpc_received": len(grpc_ms),
        "browser_p50_ms": statistics.median(browser_ms),
        "browser_p95_ms": percentile(browser_ms, 0.95),
        "grpc_p50_ms": statistics.median(grpc_ms),
        "grpc_p95_ms": percentile(grpc_ms, 0.95),
    }


# ---------------------------------------------------------------------------- sessions


class WireSession(threading.Thread):
    """One browser-style Listen session on a document, reading its streaming back channel."""

    def __init__(self, url: str, index: int, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"session-{index}")
        self.url = url
        self.index = index
        self.stop_event = stop
        self.ticks: set[int] = set()
        self.backchannels = 0
        self.error: str | None = None
        self.http = requests.Session()

    def run(self) -> None:
        name = f"{DATABASE}/documents/load/s{self.index}"
        message = {
            "database": DATABASE,
            "addTarget": {"documents": {"documents": [name]}, "targetId": 2},
        }
        form = urlencode([("count", "1"), ("ofs", "0"), ("req0___data__", json.dumps(message))])
        try:
            opened = self.http.post(
                self.url,
                params={"database": DATABASE, "VER": 8, "RID": 1, "CVER": 22},
                data="headers=" + quote("X-Goog-Api-Client:bench\r\n") + "&" + form,
                timeout=30,
            )
            sid = frames(opened.text)[0][1][1]
            aid = 0
            while not self.stop_event.is_set():
                self.backchannels += 1
                params = {
                    "database": DATABASE,
                    "VER": 8,
                    "RID": "rpc",
                    "SID": sid,
                    "AID": aid,
                    "CI": 0,
                    "TYPE": "xmlhttp",
                }
                with self.http.get(self.url, params=params, stream=True, timeout=90) as response:
                    buffer = ""
                    for chunk in response.iter_content(chunk_size=None):
                        buffer += chunk.decode()
                        arrays, buffer = take_frames(buffer)
                        for array_id, payload in arrays:
                            aid = max(aid, array_id)
                            self._record(payload)
                        if self.stop_event.is_set():
                            break
        except Exception as exc:  # reported in the results: a lost session
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.http.close()

    def _record(self, payload: Any) -> None:
        message = payload[0] if payload and isinstance(payload[0], dict) else None
        if message and "documentChange" in message:
            fields = message["documentChange"]["document"].get("fields", {})
            if "tick" in fields:
                self.ticks.add(int(fields["tick"]["integerValue"]))


def frames(text: str) -> list[Any]:
    arrays, _rest = take_frames(text)
    return arrays


def take_frames(buffer: str) -> tuple[list[Any], str]:
    """Complete length-prefixed frames of ``buffer`` (their arrays) and the unparsed rest."""
    arrays: list[Any] = []
    while True:
        newline = buffer.find("\n")
        if newline < 0:
            return arrays, buffer
        size = int(buffer[:newline])
        if len(buffer) < newline + 1 + size:
            return arrays, buffer
        arrays.extend(json.loads(buffer[newline + 1 : newline + 1 + size]))
        buffer = buffer[newline + 1 + size :]


def measure_sessions(emulator: Emulator) -> dict[str, Any]:
    db = admin_client(emulator.address)
    docs = [db.collection("load").document(f"s{i}") for i in range(SESSIONS)]

    def write_all(tick: int) -> None:
        for offset in range(0, SESSIONS, 500):
            batch = db.batch()
            for doc in docs[offset : offset + 500]:
                batch.set(doc, {"tick": tick})
            batch.commit()

    write_all(0)
    idle_rss = emulator.rss_mib()
    url = f"http://{emulator.address}/google.firestore.v1.Firestore/Listen/channel"
    stop = threading.Event()
    sessions = [WireSession(url, i, stop) for i in range(SESSIONS)]
    opened_at = time.monotonic()
    for session in sessions:
        session.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(0 in s.ticks or s.error for s in sessions):
        time.sleep(0.1)
    open_s = time.monotonic() - opened_at
    cpu_before, started = emulator.cpu_seconds(), time.monotonic()
    peak_rss, peak_threads, tick = emulator.rss_mib(), emulator.threads(), 0
    while time.monotonic() - started < HOLD_S:
        time.sleep(1.0)
        tick += 1
        write_all(tick)
        peak_rss = max(peak_rss, emulator.rss_mib())
        peak_threads = max(peak_threads, emulator.threads())
    held_s = time.monotonic() - started
    cpu = emulator.cpu_seconds() - cpu_before
    time.sleep(2.0)  # the last tick's deliveries
    stop.set()
    expected = set(range(tick + 1))
    complete = [s for s in sessions if s.ticks >= expected and s.error is None]
    # Wake the back channels so the threads end (a noop or the session's timeout would too).
    write_all(tick + 1)
    for session in sessions:
        session.join(timeout=5)
    db.close()
    return {
        "sessions": SESSIONS,
        "held_s": round(held_s, 1),
        "changes_per_session": tick + 1,
        "all_sessions_open_after_s": round(open_s, 2),
        "sessions_complete": len(complete),
        "sessions_lost": SESSIONS - len(complete),
        "errors": sorted({s.error for s in sessions if s.error})[:5],
        "back_channels_per_session_max": max(s.backchannels for s in sessions),
        "emulator_cpu_percent_of_one_core": round(100 * cpu / held_s, 1),
        "emulator_rss_idle_mib": round(idle_rss, 1),
        "emulator_rss_peak_mib": round(peak_rss, 1),
        "emulator_threads_peak": peak_threads,
    }


# ---------------------------------------------------------------------------- report


def session_rows(load: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("all sessions open and current after (s)", load["all_sessions_open_after_s"]),
        ("sessions that saw every change", f"{load['sessions_complete']} / {load['sessions']}"),
        ("sessions lost", load["sessions_lost"]),
        ("emulator CPU while held (% of one core)", load["emulator_cpu_percent_of_one_core"]),
        ("emulator RSS before sessions (MiB)", load["emulator_rss_idle_mib"]),
        ("emulator RSS peak (MiB)", load["emulator_rss_peak_mib"]),
        ("emulator threads peak", load["emulator_threads_peak"]),
        ("back channels opened per session (max)", load["back_channels_per_session_max"]),
    ]


def markdown(result: dict[str, Any]) -> str:
    latency, load = result["latency"], result["sessions"]
    ratio50 = latency["browser_p50_ms"] / latency["grpc_p50_ms"]
    ratio95 = latency["browser_p95_ms"] / latency["grpc_p95_ms"]
    return "\n".join(
        [
            "# Firestore emulator: browser protocol benchmark",
            "",
            "`python -m benchmarks.browser_protocol`, one run. The emulator runs as "
            "`python -m emulators.firestore`; browser = Firebase JS web SDK "
            f"{result['firebase_sdk']} in headless Chromium over WebChannel (streaming); "
            "gRPC = the Python client's `on_snapshot` on the same document.",
            "",
            f"## Commit → listener latency ({latency['commits']} sequential commits)",
            "",
            "| listener | p50 (ms) | p95 (ms) | received |",
            "|---|---:|---:|---:|",
            f"| browser (WebChannel) | {latency['browser_p50_ms']:.2f} | "
            f"{latency['browser_p95_ms']:.2f} | {latency['browser_received']} |",
            f"| gRPC listener | {latency['grpc_p50_ms']:.2f} | {latency['grpc_p95_ms']:.2f} | "
            f"{latency['grpc_received']} |",
            f"| ratio browser / gRPC | {ratio50:.2f}x | {ratio95:.2f}x | |",
            "",
            f"## {load['sessions']} browser-style Listen sessions held {load['held_s']} s",
            "",
            "Each session: a WebChannel handshake adding one document target and a streaming "
            "back channel; every document changed once a second "
            f"({load['changes_per_session']} changes per session).",
            "",
            "| figure | value |",
            "|---|---:|",
            *[f"| {label} | {value} |" for label, value in session_rows(load)],
            "",
            f"Errors: {load['errors'] or 'none'}.",
            "",
            f"Machine: {result['machine']['platform']}, Python {result['machine']['python']}.",
            "",
        ]
    )


def main() -> int:
    started = time.monotonic()
    package = json.loads((REPO / "node_modules" / "firebase" / "package.json").read_text())
    emulator = Emulator()
    try:
        latency = measure_latency(emulator)
        sessions = measure_sessions(emulator)
    finally:
        emulator.stop()
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "firebase_sdk": package["version"],
        "latency": latency,
        "sessions": sessions,
    }
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "browser_protocol.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "browser_protocol.md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {out / 'browser_protocol.md'} in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
