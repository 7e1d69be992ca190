"""The graphql function over HTTP with real Auth-emulator tokens: every query and mutation
through the same services as REST, tenant isolation, API-key scopes, bad input, depth and
complexity refusals, metering and quota refusal, idempotent creates, batched joins (Firestore
reads counted by the emulator)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fixtures.stack import AuthUser, PlatformHandle
from tests.support.graphql_client import data_of, error_codes, graphql

DESCRIPTION = "A description that is long enough."
SLOW = {"steps": 1, "latency": 300}
TASK_FIELDS = "id title status priority agentId userId createdAt progress dependencies"


def create_task(stack: PlatformHandle, user: AuthUser, **fields: Any) -> dict[str, Any]:
    body = {"title": "Write the docs", "description": DESCRIPTION, **fields}
    mutation = (
        f"mutation($input: TaskCreateInput!) {{ createTask(input: $input) {{ {TASK_FIELDS} }} }}"
    )
    return dict(data_of(graphql(stack, user.headers, mutation, {"input": body}))["createTask"])


def slow_task(stack: PlatformHandle, user: AuthUser, title: str = "Slow one") -> dict[str, Any]:
    return create_task(stack, user, title=title, agentId="coder", inputs={"providerOptions": SLOW})


def test_me_agents_and_agent(platform: PlatformHandle) -> None:
    user = platform.create_user()
    data = data_of(
        graphql(
            platform,
            user.headers,
            "{ me { uid email role status quotas { apiCalls { limit } } } "
            'agents { id name status capabilities } agent(id: "coder") { id provider } }',
        )
    )
    assert data["me"]["uid"] == user.uid and data["me"]["role"] == "USER"
    assert data["me"]["quotas"]["apiCalls"]["limit"] > 0
    rest = platform.http.get(platform.url("agents"), headers=user.headers, timeout=60).json()
    assert [a["id"] for a in data["agents"]] == [a["id"] for a in rest["data"]["agents"]]
    assert data["agent"]["id"] == "coder"
    idle = data_of(graphql(platform, user.headers, "{ agents(status: IDLE) { status } }"))
    assert {a["status"] for a in idle["agents"]} <= {"IDLE"}


def test_get_serves_queries_and_refuses_mutations(platform: PlatformHandle) -> None:
    user = platform.create_user()
    response = platform.http.get(
        platform.url("graphql"),
        params={"query": "{ me { uid } }"},
        headers=user.headers,
        timeout=60,
    )
    assert data_of(response)["me"]["uid"] == user.uid
    refused = platform.http.get(
        platform.url("graphql"),
        params={"query": 'mutation { cancelTask(id: "x") { id } }'},
        headers=user.headers,
        timeout=60,
    )
    assert refused.status_code == 405 and error_codes(refused) == ["BAD_REQUEST"]


def test_create_list_get_cancel_retry_tasks_as_rest_does(platform: PlatformHandle) -> None:
    user = platform.create_user()
    first = slow_task(platform, user, "First")
    second = create_task(platform, user, title="Second", dependencies=[first["id"]])
    assert second["status"] == "PENDING" and second["dependencies"] == [first["id"]]

    query = f"""query($after: String) {{
      tasks(first: 1, after: $after) {{
        nodes {{ {TASK_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
      }}
    }}"""
    page1 = data_of(graphql(platform, user.headers, query))["tasks"]
    assert [t["id"] for t in page1["nodes"]] == [second["id"]]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = data_of(
        graphql(platform, user.headers, query, {"after": page1["pageInfo"]["endCursor"]})
    )["tasks"]
    assert [t["id"] for t in page2["nodes"]] == [first["id"]]
    assert page2["pageInfo"] == {"hasNextPage": False, "endCursor": None}

    detail = data_of(
        graphql(
            platform,
            user.headers,
            "query($id: ID!) { task(id: $id) { id agent { id } events { kind message } "
            "executionGraph { nodes { id } } dependencyTasks { id } subtasks { id } } }",
            {"id": second["id"]},
        )
    )["task"]
    assert detail["dependencyTasks"] == [{"id": first["id"]}] and detail["subtasks"] == []
    assert detail["agent"] is None or detail["agent"]["id"]
    first_detail = data_of(
        graphql(
            platform,
            user.headers,
            "query($id: ID!) { task(id: $id) { agent { id } events { kind } } }",
            {"id": first["id"]},
        )
    )["task"]
    assert first_detail["agent"] == {"id": "coder"}
    assert first_detail["events"][0]["kind"] == "QUEUED"

    cancelled = data_of(
        graphql(
            platform,
            user.headers,
            'mutation($id: ID!) { cancelTask(id: $id, reason: "no longer needed") '
            "{ id status cancelReason } }",
            {"id": first["id"]},
        )
    )["cancelTask"]
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelReason"] == "no longer needed"
    rest = platform.http.get(
        platform.url("tasks", f"/{second['id']}"), headers=user.headers, timeout=60
    ).json()
    assert rest["data"]["task"]["status"] == "cancelled"  # the cascade ran, as over REST

    conflict = graphql(
        platform,
        user.headers,
        "mutation($id: ID!) { retryTask(id: $id) { id } }",
        {"id": first["id"]},
    )
    assert conflict.status_code == 200 and error_codes(conflict) == ["CONFLICT"]
    assert conflict.json()["data"] is None


def test_create_task_is_idempotent_by_key(platform: PlatformHandle) -> None:
    user = platform.create_user()
    mutation = (
        "mutation($input: TaskCreateInput!, $key: String) "
        "{ createTask(input: $input, idempotencyKey: $key) { id } }"
    )
    body = {
        "title": "Once only",
        "description": DESCRIPTION,
        "agentId": "coder",
        "inputs": {"providerOptions": SLOW},
    }
    key = uuid.uuid4().hex
    one = data_of(graphql(platform, user.headers, mutation, {"input": body, "key": key}))
    two = data_of(graphql(platform, user.headers, mutation, {"input": body, "key": key}))
    assert one == two
    other = graphql(
        platform, user.headers, mutation, {"input": {**body, "title": "Another"}, "key": key}
    )
    assert error_codes(other) == ["CONFLICT"]
    listed = data_of(graphql(platform, user.headers, "{ tasks { nodes { id } } }"))
    assert [t["id"] for t in listed["tasks"]["nodes"]] == [one["createTask"]["id"]]


def test_task_groups_and_projects(platform: PlatformHandle) -> None:
    user = platform.create_user()
    member = platform.create_user()
    data_of(graphql(platform, member.headers, "{ me { uid } }"))  # provisions the member
    project = data_of(
        graphql(
            platform,
            user.headers,
            'mutation { createProject(input: {name: "Team", visibility: TEAM}) '
            "{ id name visibility } }",
        )
    )["createProject"]
    assert project["visibility"] == "TEAM"
    pid = project["id"]
    updated = data_of(
        graphql(
            platform,
            user.headers,
            'mutation($id: ID!) { updateProject(id: $id, input: {description: "d"}) '
            "{ description } }",
            {"id": pid},
        )
    )
    assert updated["updateProject"]["description"] == "d"
    added = data_of(
        graphql(
            platform,
            user.headers,
            "mutation($id: ID!, $uid: ID!) { addProjectMember(id: $id, uid: $uid) { memberIds } }",
            {"id": pid, "uid": member.uid},
        )
    )
    assert added["addProjectMember"]["memberIds"] == [member.uid]
    seen = data_of(
        graphql(platform, member.headers, "{ projects { nodes { id } pageInfo { hasNextPage } } }")
    )
    assert [p["id"] for p in seen["projects"]["nodes"]] == [pid]
    removed = data_of(
        graphql(
            platform,
            user.headers,
            "mutation($id: ID!, $uid: ID!) "
            "{ removeProjectMember(id: $id, uid: $uid) { memberIds } }",
            {"id": pid, "uid": member.uid},
        )
    )
    assert removed["removeProjectMember"]["memberIds"] == []

    group_input = {
        "name": "pipeline",
        "projectId": pid,
        "tasks": [
            {
                "ref": "a",
                "title": "Plan it",
                "description": DESCRIPTION,
                "agentId": "coder",
                "inputs": {"providerOptions": SLOW},
            },
            {"ref": "b", "title": "Do it", "description": DESCRIPTION, "dependencies": ["a"]},
        ],
    }
    group = data_of(
        graphql(
            platform,
            user.headers,
            "mutation($input: TaskGroupCreateInput!) { createTaskGroup(input: $input) "
            "{ id status counts { pending queued } tasks { ref id } } }",
            {"input": group_input},
        )
    )["createTaskGroup"]
    assert group["counts"] == {"pending": 1, "queued": 1}
    listed = data_of(graphql(platform, user.headers, "{ taskGroups { id } }"))
    assert listed["taskGroups"] == [{"id": group["id"]}]
    fetched = data_of(
        graphql(
            platform,
            user.headers,
            "query($id: ID!) { taskGroup(id: $id) { id name } }",
            {"id": group["id"]},
        )
    )
    assert fetched["taskGroup"] == {"id": group["id"], "name": "pipeline"}
    cancelled = data_of(
        graphql(
            platform,
            user.headers,
            "mutation($id: ID!) { cancelTaskGroup(id: $id) { status counts { cancelled } } }",
            {"id": group["id"]},
        )
    )
    assert cancelled["cancelTaskGroup"] == {"status": "CANCELLED", "counts": {"cancelled": 2}}
    deleted = data_of(
        graphql(
            platform, user.headers, "mutation($id: ID!) { deleteProject(id: $id) }", {"id": pid}
        )
    )
    assert deleted == {"deleteProject": pid}
    usage = data_of(
        graphql(platform, user.headers, "{ usage { plan usage { apiCalls { used limit } } } }")
    )
    assert usage["usage"]["usage"]["apiCalls"]["used"] >= 1


def test_another_tenants_resources_are_not_found(platform: PlatformHandle) -> None:
    owner, stranger = platform.create_user(), platform.create_user()
    task = slow_task(platform, owner)
    for query in (
        "query($id: ID!) { task(id: $id) { id } }",
        "mutation($id: ID!) { cancelTask(id: $id) { id } }",
        "query($id: ID!) { taskGroup(id: $id) { id } }",
        "query($id: ID!) { project(id: $id) { id } }",
    ):
        response = graphql(platform, stranger.headers, query, {"id": task["id"]})
        assert response.status_code == 200
        assert error_codes(response) == ["NOT_FOUND"], (query, response.text)
        data = response.json()["data"]  # null when the field is non-null (a mutation's)
        assert data is None or list(data.values()) == [None]
    # A dependency on someone else's task is bad input, as over REST; their tasks never list.
    response = graphql(
        platform,
        stranger.headers,
        "mutation($input: TaskCreateInput!) { createTask(input: $input) { id } }",
        {"input": {"title": "Mine", "description": DESCRIPTION, "dependencies": [task["id"]]}},
    )
    assert error_codes(response) == ["BAD_USER_INPUT"]
    listed = data_of(graphql(platform, stranger.headers, "{ tasks { nodes { id } } }"))
    assert listed["tasks"]["nodes"] == []
    # Ids Firestore cannot store are simply not found.
    response = graphql(platform, owner.headers, 'query { task(id: "__x__") { id } }')
    assert error_codes(response) == ["NOT_FOUND"]


def test_credentials_and_api_key_scopes(platform: PlatformHandle) -> None:
    response = graphql(platform, {}, "{ me { uid } }")
    assert response.status_code == 401 and error_codes(response) == ["UNAUTHENTICATED"]
    assert "data" not in response.json()
    response = graphql(platform, {"Authorization": "Bearer not-a-token"}, "{ me { uid } }")
    assert response.status_code == 401 and error_codes(response) == ["UNAUTHENTICATED"]

    user = platform.create_user()
    data_of(graphql(platform, user.headers, "{ me { uid } }"))
    platform.db.collection("users").document(user.uid).update({"role": "developer"})
    issued = platform.http.post(
        platform.url("api_keys", "/"),
        json={"name": "reader", "scopes": ["tasks:read"]},
        headers=user.headers,
        timeout=60,
    )
    assert issued.status_code == 201, issued.text
    key = {"Authorization": f"Bearer {issued.json()['data']['key']}"}
    allowed = data_of(graphql(platform, key, "{ tasks { nodes { id } } }"))
    assert allowed["tasks"]["nodes"] == []
    mixed = graphql(platform, key, "{ tasks { nodes { id } } agents { id } }")
    body = mixed.json()
    assert mixed.status_code == 200 and body["data"]["tasks"] == {"nodes": []}
    assert body["data"]["agents"] is None and error_codes(mixed) == ["FORBIDDEN"]
    write = graphql(
        platform,
        key,
        "mutation($i: TaskCreateInput!) { createTask(input: $i) { id } }",
        {"i": {"title": "Nope", "description": DESCRIPTION}},
    )
    assert error_codes(write) == ["FORBIDDEN"]
    listed = platform.http.get(platform.url("tasks"), headers=user.headers, timeout=60).json()
    assert listed["data"]["tasks"] == []  # nothing was written

    platform.db.collection("users").document(user.uid).update({"status": "suspended"})
    inactive = graphql(platform, user.headers, "{ me { uid } }")
    assert inactive.status_code == 403 and error_codes(inactive) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ me { uid "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ me { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": ""}, "BAD_REQUEST"),
        ({"query": "{ me { uid } }", "variables": []}, "BAD_REQUEST"),
        ({"query": "query A { me { uid } } query B { me { uid } }"}, "BAD_REQUEST"),
        ({"query": "query($n: Int!) { tasks(first: $n) { nodes { id } } }"}, "BAD_REQUEST"),
    ],
)
def test_bad_requests_are_refused_before_anything_runs(
    stack: PlatformHandle, body: dict[str, Any], code: str
) -> None:
    user = stack.create_user()
    response = stack.http.post(stack.url("graphql"), json=body, headers=user.headers, timeout=60)
    if code == "BAD_REQUEST" and "$n" in body["query"]:
        # A missing variable is reported by execution (GraphQL's rule), with no data.
        assert response.status_code == 200 and response.json()["data"] is None
        return
    assert response.status_code == 400, response.text
    assert error_codes(response) == [code] * len(response.json()["errors"])


def test_bad_input_is_bad_user_input_and_writes_nothing(platform: PlatformHandle) -> None:
    user = platform.create_user()
    mutation = "mutation($i: TaskCreateInput!) { createTask(input: $i) { id } }"
    short = graphql(platform, user.headers, mutation, {"i": {"title": "ab", "description": "x"}})
    assert short.status_code == 200 and error_codes(short) == ["BAD_USER_INPUT"]
    fields = {d["field"] for d in short.json()["errors"][0]["extensions"]["details"]}
    assert fields == {"title", "description"}
    wrong_enum = graphql(
        platform,
        user.headers,
        mutation,
        {"i": {"title": "Fine", "description": DESCRIPTION, "priority": "urgent"}},
    )
    assert wrong_enum.json()["data"] is None and wrong_enum.json()["errors"]
    unknown_agent = graphql(
        platform,
        user.headers,
        mutation,
        {"i": {"title": "Fine", "description": DESCRIPTION, "agentId": "nobody"}},
    )
    assert error_codes(unknown_agent) == ["BAD_USER_INPUT"]
    cursor = graphql(platform, user.headers, '{ tasks(after: "garbage") { nodes { id } } }')
    assert error_codes(cursor) == ["BAD_USER_INPUT"]
    too_many = graphql(platform, user.headers, "{ tasks(first: 1000) { nodes { id } } }")
    assert error_codes(too_many) in (["BAD_USER_INPUT"], ["QUERY_TOO_COMPLEX"])
    listed = platform.http.get(platform.url("tasks"), headers=user.headers, timeout=60).json()
    assert listed["data"]["tasks"] == []


def test_depth_and_complexity_limits(stack: PlatformHandle) -> None:
    user = stack.create_user()
    deep = '{ task(id: "t") ' + "{ dependencyTasks " * 7 + "{ id }" + " }" * 8
    response = graphql(stack, user.headers, deep)
    assert response.status_code == 400 and "QUERY_TOO_DEEP" in error_codes(response)
    assert response.json()["errors"][0]["extensions"]["details"]["maxDepth"] == 8
    wide = "{ tasks(first: 100) { nodes { events { id kind message } subtasks { id title } } } }"
    response = graphql(stack, user.headers, wide)
    assert response.status_code == 400 and error_codes(response) == ["QUERY_TOO_COMPLEX"]
    via_fragment = """
      query { tasks(first: 100) { nodes { ...F } } }
      fragment F on Task { events { id kind message timestamp } dependencyTasks { id } }
    """
    response = graphql(stack, user.headers, via_fragment)
    assert error_codes(response) == ["QUERY_TOO_COMPLEX"]
    # Refused before admission: no credentials needed to be told, nothing metered.
    assert graphql(stack, {}, deep).status_code == 400
    introspection = data_of(graphql(stack, user.headers, "{ __schema { queryType { name } } }"))
    assert introspection["__schema"]["queryType"]["name"] == "Query"


def test_metering_by_price_and_quota_refusal(platform: PlatformHandle) -> None:
    user = platform.create_user()
    data_of(graphql(platform, user.headers, "{ me { uid } }"))
    platform.db.collection("users").document(user.uid).update(
        {
            "quotas.apiCalls.limit": 16,
            "quotas.apiCalls.burstLimit": 10_000,
            "quotas.apiCalls.generation": 1,
        }
    )
    ok = graphql(platform, user.headers, "{ me { uid } }")
    assert ok.status_code == 200 and "RateLimit" in ok.headers
    # createTask costs what POST /tasks costs (5 units); 8 shards of 2 units each cannot take it.
    refused = graphql(
        platform,
        user.headers,
        "mutation($i: TaskCreateInput!) { createTask(input: $i) { id } }",
        {"i": {"title": "Costly", "description": DESCRIPTION}},
    )
    assert refused.status_code == 429 and error_codes(refused) == ["QUOTA_EXCEEDED"]
    assert "Retry-After" in refused.headers
    for _ in range(20):
        last = graphql(platform, user.headers, "{ me { uid } }")
        if last.status_code == 429:
            break
    assert last.status_code == 429 and error_codes(last) == ["QUOTA_EXCEEDED"]
    # Reading one's usage stays free, as GET /users/me/usage.
    assert data_of(graphql(platform, user.headers, "{ usage { plan } }"))["usage"]["plan"]


def test_a_page_with_agents_costs_the_rest_reads_plus_one_per_distinct_agent(
    platform: PlatformHandle,
) -> None:
    user = platform.create_user()
    data_of(graphql(platform, user.headers, "{ me { uid } }"))
    created = [slow_task(platform, user, f"Task {index}") for index in range(6)]
    # Cancelled, so that no run reads anything while the reads are counted.
    for task in created:
        data_of(
            graphql(
                platform,
                user.headers,
                "mutation($id: ID!) { cancelTask(id: $id) { id } }",
                {"id": task["id"]},
            )
        )
    assert platform.wait_idle()

    platform.reset_costs()
    rest = platform.http.get(
        platform.url("tasks"), headers=user.headers, params={"limit": 20}, timeout=60
    )
    assert rest.status_code == 200
    rest_reads = platform.costs()["reads"]
    platform.reset_costs()
    data = data_of(
        graphql(platform, user.headers, "{ tasks(first: 20) { nodes { id agent { id name } } } }")
    )
    graphql_reads = platform.costs()["reads"]
    assert {t["agent"]["id"] for t in data["tasks"]["nodes"]} == {"coder"}
    # One distinct agent: at most one more read than REST (none when the agent is cached).
    assert rest_reads <= graphql_reads <= rest_reads + 1, (rest_reads, graphql_reads)
