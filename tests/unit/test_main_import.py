"""Deploy discovery imports main.py: it must need no network, credentials or emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Firestore (and grpc) are already loaded by firebase_functions.firestore_fn; these are not.
HEAVY_CLIENTS = ("google.cloud.pubsub_v1", "google.cloud.storage", "google.auth.compute_engine")

SCRIPT = f"""
import sys, socket
def refuse(*args, **kwargs):
    raise AssertionError("network access while importing main.py")
socket.socket.connect = refuse
socket.create_connection = refuse
import main
loaded = [name for name in {HEAVY_CLIENTS!r} if name in sys.modules]
assert not loaded, loaded
from firebase_functions.private import serving
print(sorted(serving.get_functions()))
"""


def test_main_imports_without_network_credentials_or_emulators() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_EMULATOR_HOST")
        and key not in {"GOOGLE_APPLICATION_CREDENTIALS", "GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"}
    }
    env["PYTHONPATH"] = str(ROOT / "functions")
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT / "functions",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    declared = completed.stdout.strip()
    for name in ("health", "probes", "on_probe_created", "on_probe_message", "purge_expired"):
        assert f"'{name}'" in declared
