"""The project's firestore.rules, evaluated by the Firestore emulator for web-client requests.

The rules file is read when the tests run, so these tests judge the rules as they stand. Data is
seeded with the admin client (rules bypassed, as the functions write it); reads and writes are
then made as clients holding Firebase ID tokens, exactly as the web frontend would.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.domain import collections
from emulators.firestore.rules.testing import client_as, id_token

RULES_FILE = Path(__file__).resolve().parents[2] / "firestore.rules"
DENIED = "Missing or insufficient permissions."

# What a signed-in client may read at all; everything else is server-only.
CLIENT_READABLE = {
    collections.USERS,
    collections.PROJECTS,
    collections.TASKS,
    collections.TASK_GROUPS,
    collections.AGENTS,
    collections.USAGE,
    collections.KNOWLEDGE_GRAPH,
}
SERVER_ONLY = sorted(set(collections.COLLECTIONS.values()) - CLIENT_READABLE)

PROJECTS: dict[str, dict[str, Any]] = {
    "p_alice": {"userId": "alice", "name": "Alice's", "visibility": "private", "memberIds": []},
    # A team project of bob's with alice as a member: alice reads it and its tasks.
    "p_team": {"userId": "bob", "name": "Team", "visibility": "team", "memberIds": ["alice"]},
    # Membership of a private project grants nothing.
    "p_private": {
        "userId": "bob",
        "name": "Private",
        "visibility": "private",
        "memberIds": ["alice"],
    },
    "p_other_team": {
        "userId": "bob",
        "name": "Other",
        "visibility": "team",
        "memberIds": ["carol"],
    },
}
TASKS: dict[str, dict[str, Any]] = {
    "t_alice": {"userId": "alice", "title": "mine", "status": "pending"},
    "t_bob": {"userId": "bob", "title": "bob's", "status": "pending"},
    "t_team": {"userId": "bob", "projectId": "p_team", "title": "team", "status": "queued"},
    "t_private": {
        "userId": "bob",
        "projectId": "p_private",
        "title": "private",
        "status": "queued",
    },
    "t_other_team": {
        "userId": "bob",
        "projectId": "p_other_team",
        "title": "x",
        "status": "queued",
    },
    "t_no_project": {"userId": "bob", "projectId": "p_missing", "title": "x", "status": "queued"},
}
GROUPS: dict[str, dict[str, Any]] = {
    "g_alice": {"userId": "alice", "name": "mine", "status": "running"},
    "g_bob": {"userId": "bob", "name": "bob's", "status": "running"},
    "g_team": {"userId": "bob", "projectId": "p_team", "name": "team", "status": "running"},
    "g_other_team": {
        "userId": "bob",
        "projectId": "p_other_team",
        "name": "x",
        "status": "running",
    },
}


def _put_rules(firestore_emulator: Any, project: str, source: str) -> None:
    """Load rules through the official emulator's route (which this emulator serves too)."""
    url = f"{firestore_emulator.admin_url}/emulator/v1/projects/{project}:securityRules"
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": source}]}})
    request = urllib.request.Request(url, data=body.encode(), method="PUT")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.fixture
def world(firestore_emulator: Any, fs_client: Any, fs_project: str) -> Iterator[Any]:
    """Seeded data and the project's rules in force; yields the admin client."""
    db = fs_client
    for uid in ("alice", "bob"):
        db.collection("users").document(uid).set(
            {"uid": uid, "role": "user", "status": "active", "quotas": {"apiCalls": {"limit": 10}}}
        )
    for doc_id, data in PROJECTS.items():
        db.collection("projects").document(doc_id).set(data)
    for doc_id, data in TASKS.items():
        task = db.collection("tasks").document(doc_id)
        task.set(data)
        task.collection("events").document("e1").set({"type": "created", "taskId": doc_id})
    for doc_id, data in GROUPS.items():
        db.collection("task_groups").document(doc_id).set(data)
    db.collection("agents").document("a1").set({"name": "Coder", "status": "active"})
    db.collection("usage").document("alice_2026-01-01").set({"userId": "alice", "apiCalls": 3})
    db.collection("usage").document("bob_2026-01-01").set({"userId": "bob", "apiCalls": 5})
    db.collection("knowledge_graph").document("k_alice").set(
        {"kind": "entity", "userId": "alice", "scopeKey": "alice/~", "name": "A"}
    )
    db.collection("knowledge_graph").document("k_bob").set(
        {"kind": "entity", "userId": "bob", "scopeKey": "bob/~", "name": "B"}
    )
    db.collection("knowledge_graph").document("k_team").set(
        {"kind": "entity", "userId": "bob", "projectId": "p_team", "scopeKey": "bob/p_team"}
    )
    # Server-only documents that even name alice as their owner or actor.
    for name in SERVER_ONLY:
        db.collection(name).document("d_alice").set(
            {"userId": "alice", "actorId": "alice", "uid": "alice"}
        )
    _put_rules(firestore_emulator, fs_project, RULES_FILE.read_text(encoding="utf-8"))
    try:
        yield db
    finally:
        if firestore_emulator.emulator is not None:
            firestore_emulator.emulator.set_rules(fs_project, None)


@pytest.fixture
def as_user(world: Any, fs_project: str) -> Iterator[Callable[..., Any]]:
    """``as_user("alice")`` → a client with alice's ID token; ``as_user(None)``: no token."""
    opened: list[Any] = []

    def make(uid: str | None, **claims: Any) -> Any:
        token = (
            None if uid is None else id_token(uid, fs_project, email=f"{uid}@example.com", **claims)
        )
        client = client_as(fs_project, token)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def _denied(call: Callable[[], Any]) -> None:
    """``call`` fails with Firestore's permission error (a stream is consumed to the end)."""
    with pytest.raises(exceptions.PermissionDenied) as caught:
        result = call()
        if not isinstance(result, dict) and hasattr(result, "__next__"):
            list(result)
    assert caught.value.message == DENIED


def _ids(query: Any) -> list[str]:
    return sorted(snapshot.id for snapshot in query.stream())


def _eq(field: str, value: Any) -> FieldFilter:
    return FieldFilter(field, "==", value)


# ---------------------------------------------------------------------- users
def test_user_reads_exactly_their_own_user_document(as_user: Callable[..., Any]) -> None:
    alice = as_user("alice")
    assert alice.collection("users").document("alice").get().to_dict()["role"] == "user"
    _denied(lambda: alice.collection("users").document("bob").get())
    _denied(lambda: list(alice.collection("users").stream()))
    _denied(lambda: as_user(None).collection("users").document("alice").get())


# ---------------------------------------------------------------------- tasks and events
def test_tasks_readable_by_owner_and_team_project_members(as_user: Callable[..., Any]) -> None:
    alice = as_user("alice")
    tasks = alice.collection("tasks")
    for readable in ("t_alice", "t_team"):
        assert tasks.document(readable).get().exists
    for hidden in ("t_bob", "t_private", "t_other_team", "t_no_project", "t_missing"):
        _denied(tasks.document(hidden).get)
    assert _ids(tasks.where(filter=_eq("userId", "alice"))) == ["t_alice"]
    assert _ids(tasks.where(filter=_eq("projectId", "p_team"))) == ["t_team"]
    _denied(lambda: list(tasks.stream()))
    _denied(lambda: list(tasks.where(filter=_eq("userId", "bob")).stream()))
    _denied(lambda: list(tasks.where(filter=_eq("projectId", "p_private")).stream()))
    # carol is a member of p_other_team only.
    carol = as_user("carol").collection("tasks")
    assert carol.document("t_other_team").get().exists
    _denied(lambda: carol.document("t_team").get())


def test_task_events_follow_their_task(as_user: Callable[..., Any]) -> None:
    alice = as_user("alice")
    for readable in ("t_alice", "t_team"):
        events = alice.collection("tasks").document(readable).collection("events")
        assert _ids(events) == ["e1"]
        assert events.document("e1").get().exists
    for hidden in ("t_bob", "t_private", "t_other_team"):
        events = alice.collection("tasks").document(hidden).collection("events")
        _denied(events.stream)
        _denied(events.document("e1").get)


def test_listening_to_own_task_events_works_and_others_are_refused(
    as_user: Callable[..., Any], world: Any
) -> None:
    import queue

    alice = as_user("alice")
    seen: queue.Queue[list[str]] = queue.Queue()
    events = alice.collection("tasks").document("t_alice").collection("events")
    watch = events.on_snapshot(
        lambda docs, changes, read_time: seen.put(sorted(d.id for d in docs))
    )
    try:
        assert seen.get(timeout=30) == ["e1"]
        world.collection("tasks").document("t_alice").collection("events").document("e2").set(
            {"type": "queued"}
        )
        assert seen.get(timeout=30) == ["e1", "e2"]
    finally:
        watch.unsubscribe()


# ---------------------------------------------------------------------- groups and projects
def test_task_groups_readable_by_owner_and_team_members(as_user: Callable[..., Any]) -> None:
    groups = as_user("alice").collection("task_groups")
    for readable in ("g_alice", "g_team"):
        assert groups.document(readable).get().exists
    for hidden in ("g_bob", "g_other_team"):
        _denied(groups.document(hidden).get)
    assert _ids(groups.where(filter=_eq("userId", "alice"))) == ["g_alice"]
    _denied(lambda: list(groups.stream()))


def test_projects_readable_by_owner_and_team_members_only(as_user: Callable[..., Any]) -> None:
    projects = as_user("alice").collection("projects")
    for readable in ("p_alice", "p_team"):
        assert projects.document(readable).get().exists
    for hidden in ("p_private", "p_other_team"):
        _denied(projects.document(hidden).get)
    assert _ids(projects.where(filter=_eq("userId", "alice"))) == ["p_alice"]
    # Contains p_private, where alice is listed but the project is not a team project.
    _denied(
        lambda: list(
            projects.where(filter=FieldFilter("memberIds", "array_contains", "alice")).stream()
        )
    )
    _denied(lambda: list(projects.where(filter=_eq("visibility", "team")).stream()))


def test_a_public_project_and_what_belongs_to_it_are_readable_by_any_signed_in_user(
    as_user: Callable[..., Any], world: Any
) -> None:
    world.collection("projects").document("p_public").set(
        {"userId": "bob", "name": "Open", "visibility": "public", "memberIds": []}
    )
    world.collection("tasks").document("t_public").set(
        {"userId": "bob", "projectId": "p_public", "title": "open", "status": "queued"}
    )
    world.collection("tasks").document("t_public").collection("events").document("e1").set(
        {"type": "created", "taskId": "t_public"}
    )
    world.collection("task_groups").document("g_public").set(
        {"userId": "bob", "projectId": "p_public", "name": "open", "status": "running"}
    )
    world.collection(collections.KNOWLEDGE_GRAPH).document("k_public").set(
        {"kind": "entity", "userId": "bob", "projectId": "p_public", "scopeKey": "bob/p_public"}
    )
    for uid in ("alice", "carol"):
        client = as_user(uid)
        assert client.collection("projects").document("p_public").get().exists
        tasks = client.collection("tasks")
        assert tasks.document("t_public").get().exists
        assert _ids(tasks.where(filter=_eq("projectId", "p_public"))) == ["t_public"]
        assert _ids(tasks.document("t_public").collection("events")) == ["e1"]
        assert client.collection("task_groups").document("g_public").get().exists
        assert client.collection(collections.KNOWLEDGE_GRAPH).document("k_public").get().exists
        # Read-only: no client writes a public project or anything in it.
        _denied(lambda c=client: c.collection("projects").document("p_public").update({"a": 1}))
        _denied(lambda c=client: c.collection("tasks").document("t_public").update({"a": 1}))
        # Public is about this project only: bob's private data stays hidden.
        _denied(client.collection("projects").document("p_private").get)
    anonymous = as_user(None)
    _denied(anonymous.collection("projects").document("p_public").get)
    _denied(anonymous.collection("tasks").document("t_public").get)


# ---------------------------------------------------------------------- agents, usage, audit
def test_any_signed_in_user_reads_agents(as_user: Callable[..., Any]) -> None:
    for uid in ("alice", "bob"):
        agents = as_user(uid).collection("agents")
        assert _ids(agents) == ["a1"]
        assert agents.document("a1").get().exists
    anonymous = as_user(None).collection("agents")
    _denied(lambda: list(anonymous.stream()))
    _denied(lambda: anonymous.document("a1").get())


def test_usage_readable_only_by_its_owner(as_user: Callable[..., Any]) -> None:
    usage = as_user("alice").collection("usage")
    assert usage.document("alice_2026-01-01").get().to_dict()["apiCalls"] == 3
    assert _ids(usage.where(filter=_eq("userId", "alice"))) == ["alice_2026-01-01"]
    _denied(lambda: usage.document("bob_2026-01-01").get())
    _denied(lambda: list(usage.where(filter=_eq("userId", "bob")).stream()))
    _denied(lambda: list(usage.stream()))


@pytest.mark.parametrize("role", ["user", "admin"])
def test_audit_logs_are_never_readable(as_user: Callable[..., Any], role: str) -> None:
    logs = as_user("alice", role=role).collection(collections.AUDIT_LOGS)
    _denied(lambda: logs.document("d_alice").get())
    _denied(lambda: list(logs.where(filter=_eq("actorId", "alice")).stream()))
    _denied(lambda: list(logs.stream()))


def test_knowledge_is_not_readable_by_other_users(as_user: Callable[..., Any]) -> None:
    knowledge = as_user("carol").collection(collections.KNOWLEDGE_GRAPH)
    for doc_id in ("k_alice", "k_bob", "k_team"):
        _denied(knowledge.document(doc_id).get)
    _denied(lambda: list(knowledge.where(filter=_eq("scopeKey", "alice/~")).stream()))
    bob = as_user("bob").collection(collections.KNOWLEDGE_GRAPH)
    _denied(lambda: bob.document("k_alice").get())


def test_knowledge_is_readable_by_its_owner_and_team_members(as_user: Callable[..., Any]) -> None:
    if "/knowledge_graph/" not in RULES_FILE.read_text(encoding="utf-8"):
        pytest.skip(
            "firestore.rules has no knowledge_graph rule yet (knowledge is server-only): the "
            "owner and team-project members cannot read it directly"
        )
    alice = as_user("alice").collection(collections.KNOWLEDGE_GRAPH)
    assert alice.document("k_alice").get().exists
    assert alice.document("k_team").get().exists  # alice is a member of p_team
    assert _ids(alice.where(filter=_eq("scopeKey", "alice/~"))) == ["k_alice"]
    _denied(lambda: alice.document("k_bob").get())


# ---------------------------------------------------------------------- server-only data
@pytest.mark.parametrize("collection", SERVER_ONLY)
def test_server_only_collections_are_not_readable_even_by_their_subject(
    as_user: Callable[..., Any], collection: str
) -> None:
    client = as_user("alice", role="admin")
    _denied(lambda: client.collection(collection).document("d_alice").get())
    _denied(
        lambda: list(client.collection(collection).where(filter=_eq("userId", "alice")).stream())
    )


def test_unauthenticated_clients_read_nothing(as_user: Callable[..., Any]) -> None:
    anonymous = as_user(None)
    for name in sorted(collections.COLLECTIONS.values()):
        _denied(anonymous.collection(name).stream)
        _denied(anonymous.collection(name).document("d_alice").get)
    for doc_id in ("t_alice", "t_team"):
        events = anonymous.collection("tasks").document(doc_id).collection("events")
        _denied(events.stream)
    _denied(lambda: anonymous.collection("users").document("alice").get())


def _owned_documents() -> list[tuple[str, str]]:
    """A document per collection that alice owns or may read, plus every server-only one."""
    owned = [
        ("users", "alice"),
        ("projects", "p_alice"),
        ("tasks", "t_alice"),
        ("tasks/t_alice/events", "e1"),
        ("task_groups", "g_alice"),
        ("agents", "a1"),
        ("usage", "alice_2026-01-01"),
        ("knowledge_graph", "k_alice"),
    ]
    return owned + [(name, "d_alice") for name in SERVER_ONLY]


@pytest.mark.parametrize(("collection", "doc_id"), _owned_documents())
def test_clients_write_nothing(
    as_user: Callable[..., Any], world: Any, collection: str, doc_id: str
) -> None:
    client = as_user("alice", role="admin")
    existing = client.collection(collection).document(doc_id)
    before = world.collection(collection).document(doc_id).get().to_dict()
    _denied(lambda: existing.update({"userId": "alice", "status": "active"}))
    _denied(lambda: existing.set({"userId": "alice"}, merge=True))
    _denied(existing.delete)
    _denied(lambda: client.collection(collection).document("new").set({"userId": "alice"}))
    _denied(lambda: client.collection(collection).add({"userId": "alice"}))
    assert world.collection(collection).document(doc_id).get().to_dict() == before
    assert not world.collection(collection).document("new").get().exists


def test_a_user_cannot_raise_their_own_role_or_quotas(
    as_user: Callable[..., Any], world: Any
) -> None:
    me = as_user("alice").collection("users").document("alice")
    _denied(lambda: me.update({"role": "admin"}))
    _denied(lambda: me.update({"quotas.apiCalls.limit": 1_000_000}))
    _denied(lambda: me.update({"status": "active"}))
    assert world.collection("users").document("alice").get().to_dict()["role"] == "user"
