"""Which document changes are audited, as what, and by whom (pure rules)."""

from __future__ import annotations

import pytest

from aide.domain import collections
from aide.domain.audit_logs import ActorType
from aide.domain.audit_trail import (
    ChangeActor,
    audit_id_for_event,
    audit_id_for_request,
    change_actor,
    classify,
)


@pytest.mark.parametrize(
    ("collection", "before", "after", "action"),
    [
        (collections.TASKS, None, {"status": "pending"}, "task.created"),
        (collections.TASKS, {"status": "pending"}, {"status": "queued"}, "task.transitioned"),
        (collections.TASKS, {"status": "running"}, {"status": "cancelled"}, "task.cancelled"),
        (collections.TASKS, {"status": "running"}, {"status": "running", "x": 1}, None),
        (collections.TASK_GROUPS, None, {"status": "pending"}, "task_group.created"),
        (
            collections.TASK_GROUPS,
            {"status": "running"},
            {"status": "cancelled"},
            "task_group.cancelled",
        ),
        (collections.PROJECTS, None, {"name": "a"}, "project.created"),
        (collections.PROJECTS, {"name": "a"}, {"name": "b"}, "project.changed"),
        (collections.PROJECTS, {"name": "a"}, {"name": "a", "updatedAt": 2}, None),
        (collections.PROJECTS, {"name": "a"}, None, "project.deleted"),
        (collections.API_KEYS, None, {"name": "k"}, "api_key.created"),
        (collections.API_KEYS, {"name": "k"}, {"name": "k", "revokedAt": 1}, "api_key.revoked"),
        (collections.USERS, None, {"role": "user"}, None),
        (collections.USERS, {"role": "user"}, {"role": "admin"}, "user.role_changed"),
        (collections.USERS, {"status": "active"}, {"status": "suspended"}, "user.status_changed"),
        (
            collections.USERS,
            {"subscription": {"plan": "free"}},
            {"subscription": {"plan": "pro"}},
            "user.plan_changed",
        ),
        (collections.USERS, {"quotas": {"a": 1}}, {"quotas": {"a": 2}}, None),
        (collections.AGENTS, None, {"name": "a"}, None),
    ],
)
def test_classify(
    collection: str, before: dict | None, after: dict | None, action: str | None
) -> None:
    change = classify(collection, before, after)
    assert (change.action if change else None) == action


def test_summaries_keep_only_named_fields() -> None:
    change = classify(collections.API_KEYS, None, {"name": "k", "hash": "secret", "scopes": ["*"]})
    assert change is not None and change.after == {"name": "k", "scopes": ["*"]}


def test_actor_is_the_stamp_else_the_owner_else_the_system() -> None:
    stamp = ChangeActor(ActorType.API_KEY, "k1", "r1", "1.2.3.4", "ua").to_stamp()
    assert change_actor("task", "t", None, {"userId": "u", "lastChangedBy": stamp}) == ChangeActor(
        ActorType.API_KEY, "k1", "r1", "1.2.3.4", "ua"
    )
    assert change_actor("project", "p", {"userId": "u"}, None) == ChangeActor(ActorType.USER, "u")
    assert (
        change_actor("user", "u", {"role": "user"}, {"role": "admin"}).actor_type
        is ActorType.SYSTEM
    )


def test_entry_ids_are_deterministic() -> None:
    assert audit_id_for_event("e1") == audit_id_for_event("e1") != audit_id_for_event("e2")
    assert audit_id_for_request("r", "a", "x") != audit_id_for_request("r", "a", "y")
