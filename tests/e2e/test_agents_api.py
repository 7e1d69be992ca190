"""The seed's Agent API integration test, over HTTP with real Auth-emulator tokens."""

from __future__ import annotations

from google.cloud.firestore_v1.base_query import FieldFilter

from tests.fixtures.stack import PlatformHandle

TIMEOUT = 60


def test_list_agents_returns_the_registry(stack: PlatformHandle) -> None:
    user = stack.create_user()
    response = stack.http.get(stack.url("agents", "/"), headers=user.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    agents = body["data"]["agents"]
    assert isinstance(agents, list) and len(agents) > 0
    for agent in agents:
        assert {"id", "name", "capabilities", "status"} <= agent.keys()


def test_list_agents_requires_authentication(stack: PlatformHandle) -> None:
    response = stack.http.get(stack.url("agents", "/"), timeout=TIMEOUT)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_filter_agents_by_status(stack: PlatformHandle) -> None:
    user = stack.create_user()
    stack.db.collection("agents").document("planner").update({"status": "offline"})
    try:
        offline = stack.http.get(
            stack.url("agents", "/"),
            params={"status": "offline"},
            headers=user.headers,
            timeout=TIMEOUT,
        )
        assert offline.status_code == 200, offline.text
        assert [agent["id"] for agent in offline.json()["data"]["agents"]] == ["planner"]
        idle = stack.http.get(
            stack.url("agents", "/"),
            params={"status": "idle"},
            headers=user.headers,
            timeout=TIMEOUT,
        )
        assert "planner" not in {agent["id"] for agent in idle.json()["data"]["agents"]}
    finally:
        stack.db.collection("agents").document("planner").update({"status": "idle"})
    bad = stack.http.get(
        stack.url("agents", "/"),
        params={"status": "asleep"},
        headers=user.headers,
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "status"


def test_get_agent(stack: PlatformHandle) -> None:
    user = stack.create_user()
    found = stack.http.get(stack.url("agents", "/coder"), headers=user.headers, timeout=TIMEOUT)
    assert found.status_code == 200, found.text
    assert found.json()["data"]["agent"]["id"] == "coder"
    missing = stack.http.get(stack.url("agents", "/nope"), headers=user.headers, timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_post_agents_creates_and_starts_a_task(stack: PlatformHandle) -> None:
    user = stack.create_user()
    task_data = {"task": {"description": "Test task from integration test", "priority": "medium"}}
    response = stack.http.post(
        stack.url("agents", "/"), json=task_data, headers=user.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    task = body["data"]["task"]
    assert task["id"]
    document = stack.db.collection("tasks").document(task["id"]).get()
    assert document.exists
    stored = document.to_dict()
    assert stored["description"] == task_data["task"]["description"]
    assert stored["title"] == "Test task from integration test"
    assert stored["userId"] == user.uid
    assert stored["priority"] == "medium"
    # "Starts": dispatched at once, not left pending.
    assert stored["status"] != "pending"


def test_post_agents_validates_before_writing(stack: PlatformHandle) -> None:
    user = stack.create_user()
    cases = [
        {"task": {"description": "short"}},
        {"task": {"description": "A valid description", "priority": "urgent"}},
        {"task": {"description": "A valid description", "owner": "someone"}},
        {"description": "A valid description"},
        {"task": {"description": "A valid description", "agentId": "no-such-agent"}},
    ]
    for case in cases:
        response = stack.http.post(
            stack.url("agents", "/"), json=case, headers=user.headers, timeout=TIMEOUT
        )
        assert response.status_code == 400, (case, response.text)
        assert response.json()["error"]["details"]
    tasks = stack.db.collection("tasks").where(filter=FieldFilter("userId", "==", user.uid)).get()
    assert tasks == []


def test_hosting_rewrite_paths_reach_the_same_routes(stack: PlatformHandle) -> None:
    """Behind the Hosting rewrite /api/agents/** the function sees the full path."""
    user = stack.create_user()
    listed = stack.http.get(
        stack.url("agents", "/api/agents"), headers=user.headers, timeout=TIMEOUT
    )
    assert listed.status_code == 200, listed.text
    one = stack.http.get(
        stack.url("agents", "/api/agents/coder"), headers=user.headers, timeout=TIMEOUT
    )
    assert one.status_code == 200 and one.json()["data"]["agent"]["id"] == "coder"
