"""`python -m emulators.pubsub`: one ready line, then serves until a signal stops it cleanly."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^Pub/Sub emulator ready on 127\.0\.0\.1:(\d+)$")


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no line on stdout within {timeout}s")
    return process.stdout.readline().rstrip("\n")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_ready_line_serves_and_stops_on_signal(
    stop_signal: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.pubsub", "--port", "0", "--admin-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = read_line(process, timeout=60)
        match = READY.match(line)
        assert match, line
        address = f"127.0.0.1:{match[1]}"

        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", address)
        publisher = pubsub_v1.PublisherClient()
        topic = publisher.topic_path("demo-cli", "hello")
        publisher.create_topic(request={"name": topic})
        assert publisher.publish(topic, b"hi").result(timeout=30).isdigit()
        publisher.stop()

        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        assert process.stdout.read() == "", "the ready line must be the only stdout output"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_admin_port_defaults_to_port_plus_one() -> None:
    from emulators.pubsub.__main__ import default_admin_port

    assert default_admin_port(8085, None) == 8086
    assert default_admin_port(8085, 9000) == 9000
    assert default_admin_port(0, None) == 0
