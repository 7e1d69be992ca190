"""A child process of the local stack: started in its own process group, its output read line by
line (echoed and/or kept for diagnostics), ready when it prints its ready line and/or accepts
connections, stopped with its whole group so nothing it spawned is left behind."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from emulators.stack.ports import is_listening

LineSink = Callable[[str, str], None]
TAIL_LINES = 2000
STOP_TIMEOUT_S = 10.0


class ChildFailed(RuntimeError):
    """A child died or did not become ready; carries its name and last output lines."""

    def __init__(self, name: str, message: str, tail: Sequence[str]) -> None:
        self.name = name
        self.tail = list(tail)
        last = "\n".join(f"    {line}" for line in self.tail[-30:])
        super().__init__(f"{name}: {message}" + (f"\n  last output:\n{last}" if last else ""))


def _die_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the kernel sends it SIGTERM if this process dies without stopping it
    (SIGKILL, a crashed test run): no emulator is left holding a port.

    Done with util-linux `setpriv --pdeathsig` where available, not with Popen's preexec_fn:
    running Python between fork and exec can deadlock a multi-threaded parent (test sessions
    have gRPC and reader threads). The kernel ties the signal to the *thread* that started
    the child, so start children from a thread that lives as long as they should (main).
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None or not sys.platform.startswith("linux"):
        return argv
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        ready_pattern: str | None = None,
        port: int | None = None,
        echo: LineSink | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._cwd = cwd
        self._env = dict(env)
        self._ready_pattern = re.compile(ready_pattern) if ready_pattern else None
        self.port = port
        self._echo = echo
        self._tail: collections.deque[tuple[int, str]] = collections.deque(maxlen=TAIL_LINES)
        self._lines_read = 0
        self._tail_lock = threading.Lock()
        self._ready_line = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._terminated = False

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} not started")
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def lines_read(self) -> int:
        """Lines of output so far: a mark for output(since=...)."""
        return self._lines_read

    def output(self, since: int = 0) -> list[str]:
        """The last output lines (at most TAIL_LINES), only those after mark `since`."""
        with self._tail_lock:
            return [line for number, line in self._tail if number >= since]

    def start(self) -> None:
        self._process = subprocess.Popen(
            _die_with_parent(self.argv),
            cwd=self._cwd,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=self._read, name=f"stack-{self.name}-output", daemon=True
        )
        self._reader.start()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running:
                raise ChildFailed(
                    self.name, f"exited with code {self.returncode} before ready", self.output()
                )
            line_ok = self._ready_pattern is None or self._ready_line.is_set()
            port_ok = self.port is None or is_listening(self.port)
            if line_ok and port_ok:
                return
            if time.monotonic() >= deadline:
                raise ChildFailed(self.name, f"not ready after {timeout_s:.0f}s", self.output())
            time.sleep(0.1)

    def terminate(self) -> None:
        """Asks the whole group to stop (SIGTERM) without waiting; stop() finishes the job."""
        if self.running and not self._terminated:
            self._terminated = True
            self._signal_group(signal.SIGTERM)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # Once only: a second SIGTERM makes firebase-tools skip its clean shutdown.
            self.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                process.wait()
        # Whatever the leader left in its group (a server's worker, node's children) goes too.
        self._signal_group(signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def kill(self) -> None:
        """SIGKILL to the whole group, as a crashed machine or an OOM kill ends it: no clean-up."""
        process = self._process
        if process is None:
            return
        self._signal_group(signal.SIGKILL)
        process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _read(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        for raw in process.stdout:
            line = raw.rstrip("\n")
            with self._tail_lock:
                self._tail.append((self._lines_read, line))
                self._lines_read += 1
            if self._ready_pattern is not None and self._ready_pattern.search(line):
                self._ready_line.set()
            if self._echo is not None:
                self._echo(self.name, line)
