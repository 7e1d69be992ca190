"""Every Firestore query the web dashboard makes (web/src/data/queries.ts), run as a signed-in
client under the project's firestore.rules and with firestore.indexes.json enforced: each is
allowed for its owner, served by a declared index, and shows nothing of another user's data."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.firestore.rules.testing import client_as, id_token

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 5, 3, 12, 0, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 5, 3, tzinfo=dt.UTC)


def _eq(field: str, value: Any) -> FieldFilter:
    return FieldFilter(field, "==", value)


def _put_rules(admin_url: str, project: str) -> None:
    source = (ROOT / "firestore.rules").read_text(encoding="utf-8")
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": source}]}})
    request = urllib.request.Request(
        f"{admin_url}/emulator/v1/projects/{project}:securityRules",
        data=body.encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _task(uid: str, n: int, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "userId": uid,
        "title": f"task {n}",
        "status": status,
        "priority": "high" if n % 2 else "low",
        "agentId": "coder" if n % 3 else "planner",
        "createdAt": NOW - dt.timedelta(minutes=n),
        **fields,
    }


@pytest.fixture
def as_user(
    firestore_emulator: Any, fs_indexed_client: Any, fs_project: str
) -> Iterator[Callable[[str], Any]]:
    if not firestore_emulator.is_ours:
        pytest.skip("index enforcement and rules loading need this project's Firestore emulator")
    db = fs_indexed_client
    for uid in ("alice", "bob"):
        for n in range(8):
            status = ["queued", "in_progress", "completed", "failed"][n % 4]
            extra: dict[str, Any] = {}
            if status == "completed":
                extra["completedAt"] = TODAY + dt.timedelta(hours=n)
            if status == "failed":
                extra["failedAt"] = TODAY - dt.timedelta(days=1) if n == 7 else NOW
            db.collection("tasks").document(f"{uid}_t{n}").set(_task(uid, n, status, **extra))
        db.collection("task_groups").document(f"{uid}_g").set(
            {"userId": uid, "name": "g", "status": "running", "createdAt": NOW}
        )
        db.collection("tasks").document(f"{uid}_gt").set(
            _task(uid, 9, "pending", groupId=f"{uid}_g")
        )
        db.collection("projects").document(f"{uid}_p").set(
            {
                "userId": uid,
                "name": "p",
                "visibility": "team",
                "memberIds": ["carol"],
                "createdAt": NOW,
            }
        )
        db.collection("tasks").document(f"{uid}_pt").set(
            _task(uid, 10, "queued", projectId=f"{uid}_p")
        )
        db.collection("tasks").document(f"{uid}_t0").collection("events").document("e1").set(
            {"taskId": f"{uid}_t0", "kind": "created", "timestamp": NOW}
        )
    db.collection("agents").document("coder").set({"name": "Coder", "status": "idle"})
    _put_rules(firestore_emulator.admin_url, fs_project)
    opened: list[Any] = []

    def make(uid: str) -> Any:
        client = client_as(fs_project, id_token(uid, fs_project, email=f"{uid}@example.com"))
        opened.append(client)
        return client

    try:
        yield make
    finally:
        for client in opened:
            client.close()
        if firestore_emulator.emulator is not None:
            firestore_emulator.emulator.set_rules(fs_project, None)


def _ids(query: Any) -> list[str]:
    return [snapshot.id for snapshot in query.stream()]


def _count(query: Any) -> int:
    return int(query.count().get()[0][0].value)


def test_dashboard_listeners_and_counts(as_user: Callable[[str], Any]) -> None:
    alice = as_user("alice")
    tasks = alice.collection("tasks")
    mine = tasks.where(filter=_eq("userId", "alice"))
    recent = mine.order_by("createdAt", direction=firestore.Query.DESCENDING).limit(10)
    assert _ids(recent)[:3] == ["alice_t0", "alice_t1", "alice_t2"]
    for status, expected in (("in_progress", 2), ("queued", 3), ("failed", 2)):
        query = (
            mine.where(filter=_eq("status", status))
            .order_by("createdAt", direction=firestore.Query.DESCENDING)
            .limit(100)
        )
        ids = _ids(query)
        assert len(ids) == expected and all(i.startswith("alice_") for i in ids), (status, ids)
    completed_today = mine.where(filter=_eq("status", "completed")).where(
        filter=FieldFilter("completedAt", ">=", TODAY)
    )
    failed_today = mine.where(filter=_eq("status", "failed")).where(
        filter=FieldFilter("failedAt", ">=", TODAY)
    )
    assert _count(completed_today) == 2
    assert _count(failed_today) == 1  # the other failed yesterday
    assert _ids(alice.collection("agents").limit(50)) == ["coder"]
    assert alice.collection("users").document("alice").get().exists is False  # not yet provisioned


def test_task_pages_with_every_filter_combination(as_user: Callable[[str], Any]) -> None:
    alice = as_user("alice")
    base = alice.collection("tasks")
    combos: list[list[tuple[str, str]]] = [
        [("userId", "alice")],
        [("userId", "alice"), ("status", "queued")],
        [("userId", "alice"), ("priority", "high")],
        [("userId", "alice"), ("agentId", "coder")],
        [("userId", "alice"), ("status", "failed"), ("priority", "high"), ("agentId", "coder")],
        [("projectId", "alice_p")],
        [("projectId", "alice_p"), ("status", "queued"), ("priority", "low")],
    ]
    for combo in combos:
        query = base
        for field, value in combo:
            query = query.where(filter=_eq(field, value))
        first = query.order_by("createdAt", direction=firestore.Query.DESCENDING).limit(3)
        page = list(first.stream())
        for snapshot in page:
            data = snapshot.to_dict()
            assert all(data[field] == value for field, value in combo), (combo, data)
        if len(page) == 3:
            following = (
                query.order_by("createdAt", direction=firestore.Query.DESCENDING)
                .start_after(page[-1])
                .limit(3)
            )
            assert not {s.id for s in following.stream()} & {s.id for s in page}


def test_groups_group_tasks_projects_and_events(as_user: Callable[[str], Any]) -> None:
    alice = as_user("alice")
    groups = (
        alice.collection("task_groups")
        .where(filter=_eq("userId", "alice"))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(25)
    )
    assert _ids(groups) == ["alice_g"]
    group_tasks = (
        alice.collection("tasks")
        .where(filter=_eq("userId", "alice"))
        .where(filter=_eq("groupId", "alice_g"))
        .limit(1000)
    )
    assert _ids(group_tasks) == ["alice_gt"]
    own_projects = (
        alice.collection("projects")
        .where(filter=_eq("userId", "alice"))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(50)
    )
    assert _ids(own_projects) == ["alice_p"]
    events = (
        alice.collection("tasks")
        .document("alice_t0")
        .collection("events")
        .order_by("timestamp")
        .limit(500)
    )
    assert _ids(events) == ["e1"]
    # carol is a member of both team projects: the team-projects listener and the project's
    # task list show them.
    carol = as_user("carol")
    team = (
        carol.collection("projects")
        .where(filter=_eq("visibility", "team"))
        .where(filter=FieldFilter("memberIds", "array_contains", "carol"))
        .limit(50)
    )
    assert sorted(_ids(team)) == ["alice_p", "bob_p"]
    project_tasks = (
        carol.collection("tasks")
        .where(filter=_eq("projectId", "bob_p"))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(26)
    )
    assert _ids(project_tasks) == ["bob_pt"]


def _denied(call: Callable[[], Any]) -> None:
    with pytest.raises(exceptions.PermissionDenied):
        result = call()
        if hasattr(result, "__next__"):
            list(result)


def test_another_users_data_is_refused_not_filtered(as_user: Callable[[str], Any]) -> None:
    alice = as_user("alice")
    tasks = alice.collection("tasks")
    _denied(lambda: list(tasks.where(filter=_eq("userId", "bob")).limit(10).stream()))
    _denied(lambda: list(tasks.where(filter=_eq("projectId", "bob_p")).limit(10).stream()))
    _denied(
        lambda: list(
            tasks.where(filter=_eq("userId", "bob")).where(filter=_eq("groupId", "bob_g")).stream()
        )
    )
    _denied(lambda: alice.collection("task_groups").document("bob_g").get())
    _denied(
        lambda: list(
            alice.collection("task_groups").where(filter=_eq("userId", "bob")).limit(5).stream()
        )
    )
    _denied(lambda: list(tasks.document("bob_t0").collection("events").stream()))
    _denied(lambda: tasks.where(filter=_eq("userId", "bob")).count().get())
