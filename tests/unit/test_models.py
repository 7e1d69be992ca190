"""Domain models: the seed's validation edges, camelCase, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from aide.domain import collections
from aide.domain.api_keys import ApiKey, ApiKeyCreate
from aide.domain.projects import Project, ProjectCreate, ProjectVisibility
from aide.domain.system_config import DEFAULT_PLANS, PlanName, default_plans_config
from aide.domain.task_events import StreamEventKind
from aide.domain.task_groups import MAX_TASKS_PER_GROUP, TaskGroupCreate
from aide.domain.task_lifecycle import TaskEventKind
from aide.domain.tasks import Task, TaskCreate, TaskPriority, TaskStatus
from aide.domain.timestamps import rfc3339
from aide.domain.users import Theme, UserRole, UserUpdate


def _task_payload(**overrides: Any) -> dict[str, Any]:
    return {"title": "abc", "description": "0123456789", **overrides}


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in caught.value.errors()]


@pytest.mark.parametrize("title", ["abc", "x" * 100])
def test_task_title_accepts_3_to_100(title: str) -> None:
    assert TaskCreate.model_validate(_task_payload(title=title)).title == title


@pytest.mark.parametrize(("title", "kind"), [("ab", "string_too_short"),
                                              ("x" * 101, "string_too_long")])
def test_task_title_rejects_outside_3_to_100(title: str, kind: str) -> None:
    assert _errors(TaskCreate, _task_payload(title=title)) == [("title", kind)]


@pytest.mark.parametrize("description", ["0123456789", "d" * 5000])
def test_task_description_accepts_10_to_5000(description: str) -> None:
    assert TaskCreate.model_validate(_task_payload(description=description))


@pytest.mark.parametrize("description", ["012345678", "d" * 5001])
def test_task_description_rejects_outside_10_to_5000(description: str) -> None:
    assert [loc for loc, _ in _errors(TaskCreate, _task_payload(description=description))] == [
        "description"
    ]


def test_task_priority_defaults_to_medium_and_is_an_enum() -> None:
    assert TaskCreate.model_validate(_task_payload()).priority is TaskPriority.MEDIUM
    assert _errors(TaskCreate, _task_payload(priority="urgent")) == [("priority", "enum")]


def test_requests_reject_unknown_fields_at_every_level() -> None:
    assert _errors(TaskCreate, _task_payload(status="completed")) == [("status", "extra_forbidden")]
    assert _errors(UserUpdate, {"role": "admin"}) == [("role", "extra_forbidden")]
    assert _errors(UserUpdate, {"preferences": {"theme": "dark", "x": 1}}) == [
        ("preferences.x", "extra_forbidden")
    ]
    assert _errors(UserUpdate, {"quotas": {}}) == [("quotas", "extra_forbidden")]


def test_requests_accept_camel_case_and_snake_case_names() -> None:
    camel = TaskCreate.model_validate(_task_payload(agentId="coder", projectId="p"))
    snake = TaskCreate.model_validate(_task_payload(agent_id="coder", project_id="p"))
    assert camel == snake
    assert camel.model_dump(exclude_none=True)["agentId"] == "coder"


def test_user_update_edges() -> None:
    assert UserUpdate.model_validate({"displayName": "Al"}).display_name == "Al"
    assert [loc for loc, _ in _errors(UserUpdate, {"displayName": "A"})] == ["displayName"]
    assert [loc for loc, _ in _errors(UserUpdate, {"displayName": "A" * 51})] == ["displayName"]
    update = UserUpdate.model_validate({"preferences": {"theme": "dark"}})
    assert update.preferences is not None and update.preferences.theme is Theme.DARK


def test_project_create_edges() -> None:
    project = ProjectCreate.model_validate({"name": "abc"})
    assert project.visibility is ProjectVisibility.PRIVATE
    assert [loc for loc, _ in _errors(ProjectCreate, {"name": "ab"})] == ["name"]
    too_long = {"name": "abc", "description": "d" * 1001}
    assert [loc for loc, _ in _errors(ProjectCreate, too_long)] == ["description"]
    assert _errors(ProjectCreate, {"name": "abc", "visibility": "secret"}) == [
        ("visibility", "enum")
    ]


def test_api_key_create_edges() -> None:
    created = ApiKeyCreate.model_validate(
        {"name": "ci key", "scopes": ["tasks:read"], "expiresAt": "2030-01-01T00:00:00Z"}
    )
    assert created.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    scopes = ["tasks:read"]
    assert [loc for loc, _ in _errors(ApiKeyCreate, {"name": "ci", "scopes": scopes})] == ["name"]
    too_long = {"name": "x" * 51, "scopes": scopes}
    assert [loc for loc, _ in _errors(ApiKeyCreate, too_long)] == ["name"]
    assert _errors(ApiKeyCreate, {"name": "ci key", "scopes": []}) == [("scopes", "too_short")]
    assert _errors(ApiKeyCreate, {"name": "ci key", "scopes": ["tasks:read"],
                                  "expiresAt": "2030-01-01T00:00:00"}) == [
        ("expiresAt", "timezone_aware")
    ]


def test_api_key_usability() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    key = ApiKey(id="k", user_id="u", name="key", scopes=["a"], prefix="aide_x", hash="h")
    assert key.is_usable(now)
    assert not key.model_copy(update={"expires_at": now}).is_usable(now)
    assert not key.model_copy(update={"revoked_at": now}).is_usable(now)


def test_task_group_limits() -> None:
    spec = {"ref": "a", "title": "abc", "description": "0123456789"}
    assert TaskGroupCreate.model_validate({"tasks": [spec]}).tasks[0].dependencies == []
    assert _errors(TaskGroupCreate, {"tasks": []}) == [("tasks", "too_short")]
    too_many = {"tasks": [spec] * (MAX_TASKS_PER_GROUP + 1)}
    assert _errors(TaskGroupCreate, too_many) == [("tasks", "too_long")]


def test_document_round_trip_is_camel_case_with_utc_timestamps() -> None:
    paris = timezone(timedelta(hours=2))
    task = Task.model_validate(
        {
            "id": "t",
            "userId": "u",
            "title": "abc",
            "description": "0123456789",
            "createdAt": datetime(2026, 5, 1, 12, 0, tzinfo=paris),
            "updatedAt": "2026-05-01T10:00:00.250Z",
            "metrics": {"tokensUsed": 5},
        }
    )
    assert task.created_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert task.created_at.utcoffset() == timedelta(0)

    document = task.to_document()
    assert document["userId"] == "u" and document["metrics"] == {"tokensUsed": 5}
    assert document["createdAt"] == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert "projectId" not in document  # None is not stored
    assert Task.from_document(document) == task

    body = task.to_json_dict()
    assert body["createdAt"] == "2026-05-01T10:00:00Z"
    assert body["updatedAt"] == "2026-05-01T10:00:00.250000Z"
    assert body["status"] == "pending" and body["priority"] == "medium"
    assert Task.model_validate(body) == task


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        Task.model_validate({"id": "t", "userId": "u", "title": "abc",
                             "description": "0123456789", "createdAt": datetime(2026, 1, 1)})
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 1, 1))


def test_documents_ignore_fields_from_newer_deployments() -> None:
    task = Task.model_validate({"id": "t", "userId": "u", "title": "abc",
                                "description": "0123456789", "futureField": 1})
    assert "futureField" not in task.to_document()


def test_task_progress_is_a_fraction() -> None:
    with pytest.raises(ValidationError):
        Task(id="t", user_id="u", title="abc", description="0123456789", progress=1.5)


def test_task_statuses_are_the_lifecycle_ones() -> None:
    assert [s.value for s in TaskStatus] == [
        "pending", "queued", "in_progress", "completed", "failed", "cancelled"
    ]


def test_event_stream_carries_every_lifecycle_event_kind() -> None:
    assert {kind.value for kind in TaskEventKind} <= {kind.value for kind in StreamEventKind}


def test_roles_are_ordered() -> None:
    assert UserRole.ADMIN.satisfies(UserRole.DEVELOPER)
    assert UserRole.DEVELOPER.satisfies(UserRole.DEVELOPER)
    assert not UserRole.USER.satisfies(UserRole.DEVELOPER)


def test_team_project_members_can_read() -> None:
    project = Project(id="p", user_id="owner", name="abc", member_ids=["m"])
    assert project.can_read("owner") and not project.can_read("m")
    team = project.model_copy(update={"visibility": ProjectVisibility.TEAM})
    assert team.can_read("m") and not team.can_read("stranger")


def test_plans_and_fallback_to_default_plan() -> None:
    config = default_plans_config()
    assert set(config.plans) == set(PlanName)
    assert config.plan("pro") == DEFAULT_PLANS[PlanName.PRO]
    assert config.plan("retired") == DEFAULT_PLANS[PlanName.FREE]
    free, pro, enterprise = (DEFAULT_PLANS[name] for name in PlanName)
    assert free.api_calls_per_day < pro.api_calls_per_day < enterprise.api_calls_per_day


def test_collection_names_are_the_seeds() -> None:
    assert collections.SEED_COLLECTIONS == {
        "USERS": "users", "PROJECTS": "projects", "TASKS": "tasks", "TASK_GROUPS": "task_groups",
        "AGENT_MEMORY": "agent_memory", "KNOWLEDGE_GRAPH": "knowledge_graph", "USAGE": "usage",
        "BILLING": "billing", "AUDIT_LOGS": "audit_logs", "SYSTEM_CONFIG": "system_config",
    }
    assert len(set(collections.COLLECTIONS.values())) == len(collections.COLLECTIONS)
