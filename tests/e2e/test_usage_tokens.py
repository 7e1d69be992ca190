"""The tokens a run's model calls used are charged to the user's usage history when the run
ends, exactly once, even with every trigger and Pub/Sub message delivered twice."""

from __future__ import annotations

import time

from tests.e2e.test_runtime import create_task, wait_terminal
from tests.fixtures.stack import PlatformHandle

TIMEOUT = 60


def test_usage_history_counts_each_runs_tokens_once(platform: PlatformHandle) -> None:
    user = platform.create_user()
    with platform.duplicate_delivery():
        task_ids = [create_task(platform, user, {"steps": steps}) for steps in (1, 3)]
        finished = [wait_terminal(platform, task_id) for task_id in task_ids]
        platform.wait_idle()
    assert all(task.status.value == "completed" for task in finished)
    spent = sum(task.metrics.tokens_used or 0 for task in finished)
    assert spent > 0

    def today() -> dict[str, int]:
        response = platform.http.get(
            platform.url("users", "/me/usage"), headers=user.headers, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        (day,) = response.json()["data"]["history"]
        return day

    deadline = time.monotonic() + 30
    while today()["tasksCompleted"] < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    platform.wait_idle()
    day = today()
    assert day["tasksCompleted"] == 2
    assert day["tokensUsed"] == spent
