"""`python -m emulators.stack` (what `make dev` runs, here on free ports): comes up, serves
health, and on Ctrl-C — or when one of its children dies — leaves no process and no port
behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulators.stack.ports import wait_until_free
from emulators.stack.stack import REPO_ROOT

READY_TIMEOUT_S = 240.0
EXIT_TIMEOUT_S = 60.0
HOST_PORT = re.compile(r"127\.0\.0\.1:(\d+)")


class DevCommand:
    """The launcher as a user runs it, with its stdout read line by line."""

    def __init__(self, stderr_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
        env.pop("AIDE_USE_OFFICIAL_EMULATORS", None)
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulators.stack", "--no-schedules"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.stdout: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line.rstrip("\n"))
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {needle!r} in {timeout}s: {self.stdout}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"launcher exited before {needle!r}: {self.stdout}")
            if needle in line:
                return line

    def ports(self) -> list[int]:
        """Every port named in the endpoints table."""
        return sorted({int(p) for line in self.stdout for p in HOST_PORT.findall(line)})

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc), however deep."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, ...
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevCommand]:
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the launcher's child processes")
    command = DevCommand(tmp_path / "stack.stderr")
    try:
        yield command
    finally:
        command.close()


def stderr_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def test_comes_up_serves_health_and_ctrl_c_leaves_nothing_behind(
    dev: DevCommand, tmp_path: Path
) -> None:
    ready = dev.wait_for_line("ready", READY_TIMEOUT_S)
    health_url = re.search(r"http://\S+/health", ready)
    assert health_url, ready
    assert sum("ready" in line.lower() for line in dev.stdout) == 1, dev.stdout
    response = requests.get(health_url.group(0), timeout=60)
    assert response.status_code == 200, response.text
    # The dashboard on Hosting: the app for any route, the functions under /api/<resource>.
    dashboard = re.search(r"dashboard (http://127\.0\.0\.1:\d+)", ready)
    assert dashboard, ready
    page = requests.get(dashboard.group(1) + "/tasks/some-task", timeout=60)
    assert page.status_code == 200 and '<div id="root">' in page.text, page.text[:200]
    api = requests.get(dashboard.group(1) + "/api/health", timeout=60)
    assert api.status_code == 200 and api.json()["success"] is True, api.text
    children = descendants(dev.process.pid)
    assert len(children) >= 6, "expected Firestore, Auth, Pub/Sub, Storage, functions, Hosting"
    ports = dev.ports()
    assert len(ports) >= 8, dev.stdout

    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(timeout=EXIT_TIMEOUT_S) == 0, stderr_tail(tmp_path / "stack.stderr")
    still_running = [pid for pid in children if alive(pid)]
    assert still_running == [], f"left behind: {still_running}"
    assert wait_until_free(ports, timeout_s=30) == []


def test_a_dying_child_is_named_and_stops_the_stack(dev: DevCommand, tmp_path: Path) -> None:
    dev.wait_for_line("ready", READY_TIMEOUT_S)
    children = descendants(dev.process.pid)
    pubsub = next(
        pid
        for pid in children
        if "emulators.pubsub" in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    )
    os.kill(pubsub, signal.SIGKILL)

    assert dev.process.wait(timeout=EXIT_TIMEOUT_S) != 0
    assert any("pubsub" in line and "exited" in line for line in dev.stdout), dev.stdout
    still_running = [pid for pid in children if alive(pid)]
    assert still_running == [], f"left behind: {still_running}"
