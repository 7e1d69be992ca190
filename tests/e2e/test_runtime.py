"""The agent runtime on the local stack: tasks created over HTTP are dispatched through the
outbox and Pub/Sub to the `on_task_dispatched` worker, which runs them with the scripted
provider. Progress and events are observed through Firestore listeners (on_snapshot), as a
client would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import requests

from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.tasks import Task
from aide.domain.timestamps import utc_now
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT = 60
TERMINAL = {"completed", "failed", "cancelled"}


def create_task(
    platform: PlatformHandle, user: AuthUser, options: dict[str, Any], **fields: Any
) -> str:
    body = {
        "title": "Summarise the release",
        "description": "Summarise what changed in this release for the changelog.",
        "agentId": "coder",
        "inputs": {"providerOptions": options},
        **fields,
    }
    response = platform.http.post(
        platform.url("tasks", "/"), json=body, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["task"]["id"])


def wait_for(predicate: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def load(platform: PlatformHandle, task_id: str) -> Task:
    task = TaskRepository(platform.db).get(task_id)
    assert task is not None
    return task


def events(platform: PlatformHandle, task_id: str) -> list[dict[str, Any]]:
    return [
        event.to_json_dict()
        for event in TaskRepository(platform.db).list_events(task_id, limit=500)
    ]


def wait_terminal(platform: PlatformHandle, task_id: str, timeout: float = 90) -> Task:
    return wait_for(
        lambda: (task := load(platform, task_id)).status in TERMINAL and task,
        timeout,
        f"task {task_id} to finish",
    )


@contextmanager
def listening(platform: PlatformHandle, task_ids: list[str]) -> Iterator[dict[str, list[Any]]]:
    """Records every snapshot of the tasks and every event document, via on_snapshot."""
    seen: dict[str, list[Any]] = {"tasks": [], "events": []}
    lock = threading.Lock()

    def on_task(snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        with lock:
            seen["tasks"] += [(s.id, s.to_dict() or {}) for s in snapshots if s.exists]

    def on_events(_snapshots: list[Any], changes: Any, _read_time: Any) -> None:
        with lock:
            seen["events"] += [change.document.to_dict() for change in changes]

    tasks = TaskRepository(platform.db)
    watches = [tasks.ref(task_id).on_snapshot(on_task) for task_id in task_ids]
    watches += [tasks.events(task_id).on_snapshot(on_events) for task_id in task_ids]
    try:
        yield seen
    finally:
        for watch in watches:
            watch.unsubscribe()


def test_group_of_three_completes_in_dependency_order_observed_live(
    platform: PlatformHandle,
) -> None:
    user = platform.create_user()
    specs = [
        {"ref": "plan", "dependencies": []},
        {"ref": "build", "dependencies": ["plan"]},
        {"ref": "ship", "dependencies": ["build"]},
    ]
    body = {
        "name": "Release",
        "tasks": [
            {
                **spec,
                "title": f"Step {spec['ref']}",
                "description": f"Do the {spec['ref']} part of the release.",
                "agentId": "coder",
                "inputs": {"providerOptions": {"steps": 3, "latency": 0.3}},
            }
            for spec in specs
        ],
    }
    response = platform.http.post(
        platform.url("task_groups", "/"), json=body, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    ids = {t["ref"]: t["id"] for t in response.json()["data"]["taskGroup"]["tasks"]}
    with listening(platform, list(ids.values())) as seen:
        finished = {ref: wait_terminal(platform, task_id) for ref, task_id in ids.items()}
        wait_for(
            lambda: sum(1 for e in seen["events"] if e.get("kind") == "completed") == 3,
            30,
            "the completed events to reach the listener",
        )
    assert all(task.status.value == "completed" for task in finished.values())
    assert finished["plan"].completed_at <= finished["build"].started_at  # type: ignore[operator]
    assert finished["build"].completed_at <= finished["ship"].started_at  # type: ignore[operator]
    step_events = [e for e in seen["events"] if e.get("kind") == "step"]
    assert len(step_events) == 9
    assert all(e["tokens"]["totalTokens"] > 0 and e["message"] for e in step_events)
    progress = [data.get("progress", 0) for _, data in seen["tasks"]]
    assert any(0 < value < 1 for value in progress), progress
    assert max(progress) == 1.0
    # The dependent saw its dependency's output as context.
    context = platform.http.get(
        platform.url("tasks", f"/{ids['build']}/context"), headers=user.headers, timeout=TIMEOUT
    )
    assert context.status_code == 200, context.text
    dependencies = context.json()["data"]["context"]["dependencies"]
    assert dependencies[0]["taskId"] == ids["plan"] and dependencies[0]["outputs"]["result"]
    graph = platform.http.get(
        platform.url("tasks", f"/{ids['ship']}/graph"), headers=user.headers, timeout=TIMEOUT
    ).json()["data"]
    types = [node["type"] for node in graph["executionGraph"]["nodes"]]
    assert types.count("reasoning_step") == 3 and "output" in types
    metrics = finished["ship"].metrics
    assert metrics.step_count == 3 and metrics.tokens_used and metrics.execution_time_ms


def test_cancel_during_a_run_stops_it_within_one_step(platform: PlatformHandle) -> None:
    user = platform.create_user()
    task_id = create_task(platform, user, {"steps": 8, "latency": 1.0})
    wait_for(
        lambda: any(e["kind"] == "step" for e in events(platform, task_id)), 60, "a first step"
    )
    response = platform.http.post(
        platform.url("tasks", f"/{task_id}/cancel"), headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    steps_at_cancel = sum(1 for e in events(platform, task_id) if e["kind"] == "step")
    platform.wait_idle(60)
    time.sleep(1.5)  # longer than one step: a run that ignored the cancel would write again
    after = events(platform, task_id)
    assert after[-1]["kind"] == "cancelled", after[-1]
    assert sum(1 for e in after if e["kind"] == "step") <= steps_at_cancel + 1
    task = load(platform, task_id)
    assert task.status.value == "cancelled" and (task.metrics.step_count or 0) < 8


def test_duplicate_delivery_runs_the_task_once(platform: PlatformHandle) -> None:
    user = platform.create_user()
    with platform.duplicate_delivery():
        task_id = create_task(platform, user, {"steps": 2, "latency": 0.2})
        task = wait_terminal(platform, task_id)
        platform.wait_idle(60)
    assert task.status.value == "completed" and task.attempts == 1
    kinds = [e["kind"] for e in events(platform, task_id)]
    assert kinds.count("started") == 1 and kinds.count("step") == 2
    assert kinds.count("completed") == 1


def test_provider_failing_twice_then_succeeding_completes_with_retries_recorded(
    platform: PlatformHandle,
) -> None:
    user = platform.create_user()
    task_id = create_task(platform, user, {"steps": 2, "fail_transient": 2, "fail_step": 1})
    task = wait_terminal(platform, task_id)
    assert task.status.value == "completed", task.error
    retries = [e for e in events(platform, task_id) if "retry" in e.get("data", {})]
    assert [e["data"]["retry"]["attempt"] for e in retries] == [1, 2]
    assert task.metrics.retries == 2 and task.attempts == 1


def test_large_output_lands_in_storage_and_is_downloadable(platform: PlatformHandle) -> None:
    user = platform.create_user()
    task_id = create_task(platform, user, {"steps": 1, "output_bytes": 300_000})
    task = wait_terminal(platform, task_id)
    assert task.status.value == "completed", task.error
    assert task.output_ref is not None and task.output_ref.size_bytes > 100 * 1024
    assert task.outputs is not None and task.outputs["stored"] is True
    blob = platform.storage_client().bucket(task.output_ref.bucket).blob(task.output_ref.path)
    stored = json.loads(blob.download_as_bytes())
    assert len(stored["result"]) > 250_000
    download = platform.http.get(
        platform.url("tasks", task.outputs["downloadPath"].removeprefix("/tasks")),
        headers=user.headers,
        timeout=TIMEOUT,
    )
    assert download.status_code == 200, download.text
    assert download.json()["data"]["outputs"]["result"] == stored["result"]
    intruder = platform.create_user()
    refused = requests.get(
        platform.url("tasks", f"/{task_id}/output"), headers=intruder.headers, timeout=TIMEOUT
    )
    assert refused.status_code == 404


def test_a_killed_run_is_swept_and_completed_by_a_new_attempt(platform: PlatformHandle) -> None:
    user = platform.create_user()
    # A run whose worker died: in progress, its heartbeat an hour old, nobody working on it.
    task = Task(
        id="killed-run",
        user_id=user.uid,
        title="Killed run",
        description="A run whose worker was killed mid-way.",
        status="in_progress",  # type: ignore[arg-type]
        agent_id="coder",
        attempts=1,
        inputs={"providerOptions": {"steps": 2}},
        started_at=utc_now() - timedelta(hours=1),
        heartbeat_at=utc_now() - timedelta(hours=1),
    )
    TaskRepository(platform.db).save(task)

    response = platform.run_schedule("sweep_stale_tasks")
    assert response.status_code in (200, 204), response.text

    finished = wait_terminal(platform, task.id)
    assert finished.status.value == "completed" and finished.attempts == 2
    kinds = [e["kind"] for e in events(platform, task.id)]
    assert kinds.count("requeued") == 1 and kinds.count("completed") == 1
