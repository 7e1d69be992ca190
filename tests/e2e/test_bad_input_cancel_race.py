"""POST /task_groups/{id}/cancel right after the create, while the agent runtime claims and runs
the group's first tasks: never a 500, and every group's counters still match its tasks.

The race this pins: a group cancel locks the group document and then the tasks, the runtime's
claim locks a task and then the group. The emulator breaks that deadlock by wounding one
transaction; it used to let the wounded one read the other's commit afterwards, so the cancel
found a task still `queued` while the group counted none, and answered 500. A wounded
transaction now keeps one consistent snapshot until its commit aborts and the client retries it
(see tests/firestore_emulator/test_transactions.py). The collision needs the cancel to land
within the few milliseconds of a claim, so this loops: two clients, each creating and at once
cancelling groups of several ready tasks, with a varying delay that sweeps across the claims
(a few collisions per hundred cancels here; this makes 240).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any, Final

import requests

from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.task_graph import GroupCounts
from tests.fixtures.stack import AuthUser, PlatformHandle

TIMEOUT_S: Final = 60
CLIENTS: Final = 2
GROUPS_PER_CLIENT: Final = 40
CANCELS_PER_GROUP: Final = 3
# Sweeps the moment of the cancel across the dispatch-to-claim window of the group's tasks.
MAX_DELAY_S: Final = 0.6
LARGE_ALLOWANCE: Final = 1_000_000
READY_TASKS: Final = 4


def _group_body() -> dict[str, Any]:
    ready = [
        {"ref": f"r{index}", "title": "ready step", "description": "runs as soon as dispatched"}
        for index in range(READY_TASKS)
    ]
    last = {
        "ref": "last",
        "title": "last step",
        "description": "waits for every ready step",
        "dependencies": [spec["ref"] for spec in ready],
    }
    return {"tasks": [*ready, last]}


def _client(
    stack: PlatformHandle,
    user: AuthUser,
    seed: int,
    statuses: Counter[int],
    failures: list[str],
    group_ids: list[str],
) -> None:
    delays = random.Random(seed)
    with requests.Session() as http:
        for _ in range(GROUPS_PER_CLIENT):
            created = http.post(
                stack.url("task_groups", "/"),
                json=_group_body(),
                headers=user.headers,
                timeout=TIMEOUT_S,
            )
            if created.status_code != 201:
                failures.append(f"create: {created.status_code} {created.text}")
                return
            group_id = created.json()["data"]["taskGroup"]["id"]
            group_ids.append(group_id)
            threading.Event().wait(delays.uniform(0, MAX_DELAY_S))
            for _ in range(CANCELS_PER_GROUP):
                cancelled = http.post(
                    stack.url("task_groups", f"/{group_id}/cancel"),
                    json={"reason": None},
                    headers=user.headers,
                    timeout=TIMEOUT_S,
                )
                statuses[cancelled.status_code] += 1
                if cancelled.status_code != 200:
                    failures.append(f"cancel {group_id}: {cancelled.status_code} {cancelled.text}")
                elif cancelled.json()["data"]["taskGroup"]["status"] not in (
                    "cancelled",
                    "failed",
                    "completed",
                ):
                    failures.append(f"cancel {group_id}: {cancelled.text}")


def test_cancelling_groups_while_the_runtime_claims_their_tasks(stack: PlatformHandle) -> None:
    user = stack.create_user()
    provisioned = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=60)
    assert provisioned.status_code == 200, provisioned.text
    stack.db.collection("users").document(user.uid).update(
        {
            "quotas.apiCalls.limit": LARGE_ALLOWANCE,
            "quotas.apiCalls.burstLimit": LARGE_ALLOWANCE,
        }
    )
    mark = stack.log_mark()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    group_ids: list[str] = []
    clients = [
        threading.Thread(
            target=_client, args=(stack, user, seed, statuses, failures, group_ids), daemon=True
        )
        for seed in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=600)
    assert not any(client.is_alive() for client in clients)

    logs = stack.function_logs(mark)
    retried = [e for e in logs if "running it again" in str(e.get("message", ""))]
    errors = [e["message"] for e in logs if e.get("severity") in ("ERROR", "CRITICAL")]
    # How often the race was met (it is timing-dependent, so only reported).
    print(f"cancel statuses {dict(statuses)}; units of work run again: {len(retried)}")
    assert failures == []
    assert statuses == {200: CLIENTS * GROUPS_PER_CLIENT * CANCELS_PER_GROUP}
    assert errors == []

    assert stack.wait_idle(timeout=120)
    groups = TaskGroupRepository(stack.db)
    tasks = TaskRepository(stack.db)
    for group_id in group_ids:
        group = groups.get(group_id)
        assert group is not None
        members = tasks.get_many([member.id for member in group.tasks])
        assert group.counts == GroupCounts.from_statuses(task.status for task in members)
