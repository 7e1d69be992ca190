"""The Firebase JS SDK in Node talks gRPC, and writes through the ``Write`` stream: setDoc,
updateDoc and a read-write transaction (whose commit carries ``verify`` writes) complete under
rules that allow them, and a write the rules forbid fails with permission-denied, not a hang."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from emulators.firestore import FirestoreEmulator
from emulators.stack.stack import REPO_ROOT
from tests.fixtures.stack import DEFAULT_PASSWORD, PlatformHandle

pytestmark = pytest.mark.ours_only

SCRIPT = Path(__file__).parent / "node" / "web_sdk_grpc.mjs"
RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{uid} {
      allow read: if request.auth != null && request.auth.uid == uid;
      allow create, update: if request.auth != null && request.auth.uid == uid
        && request.resource.data.owner == uid;
    }
  }
}
"""


def test_node_web_sdk_writes_over_grpc_under_rules(stack: PlatformHandle) -> None:
    node = shutil.which("node")
    assert node is not None, "node is required (it runs the Auth emulator too)"
    user = stack.create_user()
    with FirestoreEmulator() as emulator:
        emulator.set_rules(stack.project, RULES)
        completed = subprocess.run(
            [
                node,
                str(SCRIPT),
                stack.project,
                stack.auth_host,
                emulator.address,
                user.email,
                DEFAULT_PASSWORD,
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        costs = emulator.costs(stack.project)
    assert result["uid"] == user.uid
    assert result["set"] == {"ok": None} and result["update"] == {"ok": None}, result
    assert result["transaction"] == {"ok": 2}, result
    assert result["read"] == {"ok": {"owner": user.uid, "n": 20, "title": "updated"}}, result
    assert result["denied"] == {"error": "permission-denied"}, result
    assert costs["writes"] == 3, costs  # set, update, the transaction's update
