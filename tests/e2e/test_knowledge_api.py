"""knowledge over HTTP with real Auth-emulator tokens: the MCP operations, queryKnowledge with the
local model, tenancy (another user or project never sees a hit), team members, bad input."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.stack import AuthUser, PlatformHandle

# The first knowledge call loads the embedding model in the functions host (seconds on 2 cores).
TIMEOUT = 180


def call(
    stack: PlatformHandle,
    user: AuthUser,
    method: str,
    path: str,
    body: Any = None,
    params: Any = None,
) -> requests.Response:
    kwargs: dict[str, Any] = {"headers": user.headers, "timeout": TIMEOUT, "params": params}
    if body is not None:
        kwargs["json"] = body
    return stack.http.request(method, stack.url("knowledge", path), **kwargs)


def signed_up(stack: PlatformHandle) -> AuthUser:
    user = stack.create_user()
    response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=60)
    assert response.status_code == 200, response.text
    return user


def ok(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def test_knowledge_lifecycle_over_http(stack: PlatformHandle) -> None:
    user = signed_up(stack)
    created = ok(
        call(
            stack,
            user,
            "POST",
            "/entities",
            {
                "entities": [
                    {
                        "name": "Redis Cluster",
                        "entityType": "datastore",
                        "observations": ["Keeps login sessions in memory"],
                    },
                    {"name": "Checkout Service", "entityType": "service"},
                    {"name": "redis  cluster", "entityType": "duplicate"},
                ]
            },
        )
    )
    assert [e["name"] for e in created["entities"]] == ["Redis Cluster", "Checkout Service"]
    assert created["skipped"] == 1 and created["storageBytesDelta"] > 0

    relations = ok(
        call(
            stack,
            user,
            "POST",
            "/relations",
            {
                "relations": [
                    {"from": "Checkout Service", "to": "Redis Cluster", "relationType": "uses"}
                ]
            },
        )
    )
    assert relations["relations"][0]["from"] == "Checkout Service"
    ok(
        call(
            stack,
            user,
            "POST",
            "/observations",
            {"observations": [{"entityName": "Checkout Service", "contents": ["applies coupons"]}]},
        )
    )

    graph = ok(call(stack, user, "GET", "/graph"))
    assert sorted(e["name"] for e in graph["entities"]) == ["Checkout Service", "Redis Cluster"]
    assert [(r["from"], r["relationType"], r["to"]) for r in graph["relations"]] == [
        ("Checkout Service", "uses", "Redis Cluster")
    ]

    nodes = ok(call(stack, user, "GET", "/nodes", params=[("names", "redis cluster")]))
    assert [e["observations"] for e in nodes["entities"]] == [["Keeps login sessions in memory"]]

    found = ok(call(stack, user, "POST", "/search", {"query": "coupons"}))
    assert [e["name"] for e in found["entities"]] == ["Checkout Service"]

    # Paraphrase: no word shared with the target; the local model answers.
    answer = ok(
        call(
            stack,
            user,
            "POST",
            "/query",
            {"query": "where are signed-in users tracked", "limit": 1},
        )
    )
    assert answer["hits"][0]["entity"]["name"] == "Redis Cluster"
    # A real sentence embedding: clearly similar, though no word is shared.
    assert answer["hits"][0]["semanticScore"] > 0.25, answer
    assert answer["hits"][0]["keywordScore"] == 0

    stats = ok(call(stack, user, "GET", "/stats"))
    assert stats["entityCount"] == 2 and stats["relationCount"] == 1
    assert stats["observationCount"] == 2 and stats["storageBytes"] > 0

    deleted = ok(call(stack, user, "POST", "/entities:delete", {"entityNames": ["Redis Cluster"]}))
    assert deleted["deleted"] == 3  # the entity, its observation, the relation
    graph = ok(call(stack, user, "GET", "/graph"))
    assert [e["name"] for e in graph["entities"]] == ["Checkout Service"]
    assert graph["relations"] == []


def test_other_users_and_projects_never_see_knowledge(stack: PlatformHandle) -> None:
    owner, member, stranger = signed_up(stack), signed_up(stack), signed_up(stack)
    project = stack.http.post(
        stack.url("projects", "/"),
        json={"name": "Team knowledge", "visibility": "team"},
        headers=owner.headers,
        timeout=60,
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["data"]["project"]["id"]
    added = stack.http.post(
        stack.url("projects", f"/{project_id}/members"),
        json={"uid": member.uid},
        headers=owner.headers,
        timeout=60,
    )
    assert added.status_code == 200, added.text

    ok(
        call(
            stack,
            owner,
            "POST",
            "/entities",
            {
                "projectId": project_id,
                "entities": [{"name": "Secret Plan", "entityType": "plan", "observations": ["x"]}],
            },
        )
    )
    # A team member reads the project's knowledge.
    shared = ok(call(stack, member, "GET", "/graph", params={"projectId": project_id}))
    assert [e["name"] for e in shared["entities"]] == ["Secret Plan"]

    # A stranger: the project does not exist for them; their own scope is empty.
    for method, path, body, params in (
        ("GET", "/graph", None, {"projectId": project_id}),
        ("POST", "/query", {"projectId": project_id, "query": "plan"}, None),
        (
            "POST",
            "/entities",
            {"projectId": project_id, "entities": [{"name": "a", "entityType": "b"}]},
            None,
        ),
    ):
        refused = call(stack, stranger, method, path, body, params)
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "not_found"
    own = ok(call(stack, stranger, "POST", "/query", {"query": "secret plan"}))
    assert own["hits"] == []
    # The owner's personal scope is not the project's.
    personal = ok(call(stack, owner, "POST", "/search", {"query": "Secret Plan"}))
    assert personal["entities"] == []


def test_bad_input_is_400_with_field_details(stack: PlatformHandle) -> None:
    user = signed_up(stack)
    cases = [
        ("POST", "/entities", {"entities": [{"name": "", "entityType": "t"}]}, "entities.0.name"),
        ("POST", "/entities", {"entities": [], "extra": 1}, "entities"),
        ("POST", "/query", {"query": "x", "limit": 500}, "limit"),
        ("POST", "/query", {"query": "x", "surprise": True}, "surprise"),
        (
            "POST",
            "/relations",
            {"relations": [{"from": "Nobody", "to": "Nothing", "relationType": "knows"}]},
            "relations.0.from",
        ),
    ]
    for method, path, body, field in cases:
        response = call(stack, user, method, path, body)
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert field in [detail["field"] for detail in error["details"]], error
    bad_date = call(stack, user, "GET", "/graph", params={"asOf": "yesterday"})
    assert bad_date.status_code == 400 and bad_date.json()["error"]["details"][0]["field"] == "asOf"
    unauthenticated = stack.http.get(stack.url("knowledge", "/graph"), timeout=60)
    assert unauthenticated.status_code == 401


def test_knowledge_counts_towards_the_storage_quota(stack: PlatformHandle) -> None:
    user = signed_up(stack)
    body = {"entities": [{"name": "Kafka", "entityType": "queue", "observations": ["events"]}]}
    written = ok(call(stack, user, "POST", "/entities", body))
    profile = stack.db.collection("users").document(user.uid)

    def storage_used() -> int:
        return int((profile.get().to_dict() or {})["quotas"]["storageBytes"]["used"])

    used = storage_used()
    assert used == written["storageBytesDelta"] > 0

    profile.update({"quotas.storageBytes.limit": used + 10})
    refused = call(
        stack, user, "POST", "/entities", {"entities": [{"name": "Redis", "entityType": "db"}]}
    )
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert storage_used() == used
    # Deleting frees the space again.
    ok(call(stack, user, "POST", "/entities:delete", {"entityNames": ["Kafka"]}))
    assert storage_used() == 0
