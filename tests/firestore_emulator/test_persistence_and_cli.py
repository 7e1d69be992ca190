"""Import/export between runs and the command line (extensions of this emulator)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from google.cloud import firestore

from emulators.firestore import FirestoreEmulator

pytestmark = pytest.mark.ours_only

REPO = Path(__file__).resolve().parents[2]


def _client(emulator: FirestoreEmulator, project: str, monkeypatch) -> firestore.Client:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.address)
    return firestore.Client(project=project)


def test_export_on_exit_then_import(tmp_path, monkeypatch):
    first = FirestoreEmulator(export_on_exit=tmp_path).start()
    try:
        client = _client(first, "persisted", monkeypatch)
        written = client.collection("keep").document("me").set({"v": 1, "m": {"x": [1, "a"]}})
        client.collection("keep").document("me").collection("sub").document("s").set({})
        client.close()
    finally:
        first.stop()
    assert (tmp_path / "firestore-documents.jsonl").exists()

    second = FirestoreEmulator(import_dir=tmp_path).start()
    try:
        client = _client(second, "persisted", monkeypatch)
        snapshot = client.collection("keep").document("me").get()
        assert snapshot.to_dict() == {"v": 1, "m": {"x": [1, "a"]}}
        assert snapshot.update_time == written.update_time
        assert client.collection("keep").document("me").collection("sub").document("s").get().exists
        client.close()
    finally:
        second.stop()


def test_cli_prints_ready_line_and_exits_on_sigterm(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulators.firestore",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--export-on-exit",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("Firestore emulator ready on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert (tmp_path / "firestore-documents.jsonl").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
