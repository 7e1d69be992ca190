"""The process faults the reliability suite injects, each shown to do what it says: the
functions host SIGKILLed and restarted (wired again), Firestore restarted from its export
(documents and triggers back), a sweep run as if scheduled at another time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from benchmarks.reliability.faults import Faults
from emulators.stack.clients import firestore_client
from emulators.stack.stack import LocalStack


def _user(stack: LocalStack, email: str) -> dict[str, str]:
    response = requests.post(
        f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp",
        params={"key": "fake-api-key"},
        json={"email": email, "password": "secret-123", "returnSecureToken": True},
        timeout=60,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['idToken']}"}


def _completes(stack: LocalStack, headers: dict[str, str], timeout_s: float = 90) -> str:
    created = requests.post(
        stack.url("tasks"),
        headers=headers,
        json={"title": "After the fault", "description": "A task created after the fault"},
        timeout=60,
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["data"]["task"]["id"]
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        answer = requests.get(stack.url("tasks", f"/{task_id}"), headers=headers, timeout=60)
        status = answer.json()["data"]["task"]["status"]
        if status == "completed":
            return task_id
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} still {status} {timeout_s}s after the fault")


def test_functions_host_sigkilled_then_restarted_serves_and_is_wired(chaos: LocalStack) -> None:
    headers = _user(chaos, "killed-host@example.com")
    chaos.kill_functions()
    with pytest.raises(requests.ConnectionError):
        requests.get(chaos.url("health"), timeout=10)
    chaos.restart_functions()
    assert requests.get(chaos.url("health"), timeout=30).status_code == 200
    _completes(chaos, headers)  # triggers and push subscriptions registered again


def test_firestore_restarted_from_its_export_keeps_documents_and_triggers(
    chaos: LocalStack,
) -> None:
    headers = _user(chaos, "restarted-firestore@example.com")
    before = _completes(chaos, headers)
    seconds = chaos.restart_firestore()
    assert seconds < 60
    task = requests.get(chaos.url("tasks", f"/{before}"), headers=headers, timeout=60)
    assert task.status_code == 200 and task.json()["data"]["task"]["status"] == "completed"
    _completes(chaos, headers)  # the dispatch trigger fires again


def test_sweep_judges_staleness_by_its_schedule_time(chaos: LocalStack) -> None:
    """A run silent for 30 s is not stale for an on-time sweep (bound: 2 minutes) but is for
    one whose clock is 3 minutes ahead — and a sweep 3 minutes late sweeps nothing."""
    db = firestore_client(chaos.firestore_host, chaos.project)
    faults = Faults(chaos, seed=3)
    try:
        headers = _user(chaos, "stale-run@example.com")
        task_id = _completes(chaos, headers)
        silent = datetime.now(UTC) - timedelta(seconds=30)
        # The task's run "died" 30 s ago: in progress, last heartbeat then.
        db.collection("tasks").document(task_id).update(
            {"status": "in_progress", "heartbeatAt": silent, "startedAt": silent}
        )
        assert faults.sweep("sweep_stale_tasks", timedelta(minutes=-3)) == 200
        assert faults.sweep("sweep_stale_tasks") == 200
        assert db.collection("tasks").document(task_id).get().get("status") == "in_progress"
        assert faults.sweep("sweep_stale_tasks", timedelta(minutes=3)) == 200
        assert db.collection("tasks").document(task_id).get().get("status") != "in_progress"
        bad = requests.post(
            f"{chaos.functions_base_url}/__/scheduler/sweep_stale_tasks:run",
            params={"scheduleTime": "yesterday"},
            timeout=30,
        )
        assert bad.status_code == 400
    finally:
        faults.close()
        db.close()
