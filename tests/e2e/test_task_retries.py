"""Retrying a failed task over HTTP: the response is consistent (its execution graph shows the
task queued, as its status says), the attempt history is kept, and manual retries are bounded
by the plan (free: 3 per task)."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_tasks_api import create, created_id, post, scripted, wait_status
from tests.fixtures.stack import PlatformHandle


def task_node(task: dict[str, Any]) -> dict[str, Any]:
    graph = task["executionGraph"]
    (node,) = [node for node in graph["nodes"] if node["type"] == "task"]
    return node


def test_retries_keep_history_and_graph_and_stop_at_the_plans_limit(
    stack: PlatformHandle,
) -> None:
    user = stack.create_user()
    task_id = created_id(create(stack, user, scripted("refused", {"fail_permanent": True})))
    for retry in range(1, 4):
        failed = wait_status(stack, task_id, {"failed"})
        assert failed.attempts == retry
        assert failed.execution_graph is not None
        response = post(stack, user, f"/{task_id}/retry")
        assert response.status_code == 200, response.text
        task = response.json()["data"]["task"]
        assert task["status"] == "queued"
        assert task_node(task)["status"] == "queued", task["executionGraph"]
        assert task["attempts"] == retry and task["retries"] == retry
        graph = stack.http.get(
            stack.url("tasks", f"/{task_id}/graph"), headers=user.headers, timeout=60
        ).json()["data"]
        if graph["status"] == "queued":
            assert task_node(graph)["status"] == "queued"
        # The next attempt runs (the queued task does not count the old attempts).
        wait_status(stack, task_id, {"in_progress", "failed"})

    failed = wait_status(stack, task_id, {"failed"})
    assert failed.attempts == 4 and failed.retries == 3
    refused = post(stack, user, f"/{task_id}/retry")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict" and error["details"]["retryLimit"] == 3
    assert "free plan" in error["message"]
    assert wait_status(stack, task_id, {"failed"}).retries == 3
