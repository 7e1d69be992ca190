"""services.tasks against the Firestore emulator: create, list/paginate, get, cancel, retry,
idempotent create and access between tenants."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.projects import ProjectVisibility
from aide.domain.task_lifecycle import IllegalTransition, TaskStatus, TransitionReason
from aide.domain.tasks import TaskListQuery, TaskPriority
from aide.services import tasks as service
from aide.services.idempotent_requests import IdempotencyKeyReused, InvalidIdempotencyKey
from tests.integration.task_support import (
    dispatch_records,
    events,
    load,
    run_to_completion,
    run_to_failure,
    seed_agent,
    seed_project,
    task_payload,
)
from tests.support.task_runs import claim_task, complete_task

OWNER = "user-owner"
OTHER = "user-other"
INDEXES = Path(__file__).resolve().parents[2] / "firestore.indexes.json"


@pytest.fixture(scope="module")
def indexed_emulator() -> Iterator[Any]:
    """A Firestore emulator enforcing firestore.indexes.json, as production does: listing
    queries that lack a composite index fail here."""
    from emulators.firestore import FirestoreEmulator

    emulator = FirestoreEmulator(indexes_path=INDEXES).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def indexed_db(indexed_emulator: Any) -> Iterator[Any]:
    from emulators.stack.clients import firestore_client

    project = f"test-{uuid.uuid4().hex[:12]}"
    client = firestore_client(indexed_emulator.address, project)
    try:
        yield client
    finally:
        client.close()
        indexed_emulator.clear(project)


def task_count(db: Any) -> int:
    return len(list(TaskRepository(db).collection.stream()))


def test_create_without_dependencies_is_dispatched_at_once(fs_client: Any) -> None:
    seed_agent(fs_client, "coder")
    created = service.create_task(
        fs_client, OWNER, task_payload(priority="high", agentId="coder", inputs={"n": 1})
    )
    assert created.status_code == 201 and not created.replayed
    task = load(fs_client, created.task.id)
    assert task.status is TaskStatus.QUEUED
    assert task.queued_at is not None and task.user_id == OWNER
    assert task.priority is TaskPriority.HIGH and task.inputs == {"n": 1}
    [event] = events(fs_client, task.id)
    assert (event.from_status, event.to_status) == (TaskStatus.PENDING, TaskStatus.QUEUED)
    assert dispatch_records(fs_client) == {task.id: [event.id]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"agentId": "nobody"}, "agentId"),
        ({"projectId": "missing"}, "projectId"),
        ({"dependencies": ["missing-task"]}, "dependencies.0"),
    ],
)
def test_create_rejects_unknown_references_and_writes_nothing(
    fs_client: Any, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(service.InvalidReference) as caught:
        service.create_task(fs_client, OWNER, task_payload(**fields))
    assert caught.value.field == field
    assert task_count(fs_client) == 0


def test_another_users_project_and_tasks_are_not_references(fs_client: Any) -> None:
    seed_project(fs_client, OTHER, project_id="theirs")
    theirs = service.create_task(fs_client, OTHER, task_payload()).task
    with pytest.raises(service.InvalidReference):
        service.create_task(fs_client, OWNER, task_payload(projectId="theirs"))
    with pytest.raises(service.InvalidReference):
        service.create_task(fs_client, OWNER, task_payload(dependencies=[theirs.id]))


def test_create_with_dependencies_waits_then_is_dispatched_once(fs_client: Any) -> None:
    first = service.create_task(fs_client, OWNER, task_payload("first")).task
    second = service.create_task(fs_client, OWNER, task_payload("second")).task
    waiting = service.create_task(
        fs_client, OWNER, task_payload("waiting", dependencies=[first.id, second.id])
    ).task
    assert waiting.status is TaskStatus.PENDING and waiting.unmet_dependencies == 2
    assert load(fs_client, first.id).dependents == [waiting.id]

    run_to_completion(fs_client, first.id)
    assert load(fs_client, waiting.id).status is TaskStatus.PENDING
    assert load(fs_client, waiting.id).unmet_dependencies == 1
    run_to_completion(fs_client, second.id)
    assert load(fs_client, waiting.id).status is TaskStatus.QUEUED
    assert len(dispatch_records(fs_client)[waiting.id]) == 1


def test_create_depending_on_a_failed_task_is_a_conflict(fs_client: Any) -> None:
    failed = service.create_task(fs_client, OWNER, task_payload()).task
    run_to_failure(fs_client, failed.id)
    with pytest.raises(service.DependencyBlocked):
        service.create_task(fs_client, OWNER, task_payload(dependencies=[failed.id]))


def test_create_on_completed_dependency_is_dispatched_at_once(fs_client: Any) -> None:
    done = service.create_task(fs_client, OWNER, task_payload()).task
    run_to_completion(fs_client, done.id)
    later = service.create_task(fs_client, OWNER, task_payload(dependencies=[done.id])).task
    assert later.status is TaskStatus.QUEUED and later.unmet_dependencies == 0


def _seed_listing(db: Any) -> dict[str, str]:
    seed_agent(db, "coder")
    seed_agent(db, "writer")
    seed_project(db, OWNER, project_id="p1")
    ids: dict[str, str] = {}
    specs = [
        ("a", {"priority": "low", "agentId": "coder", "projectId": "p1"}),
        ("b", {"priority": "high", "agentId": "writer"}),
        ("c", {"priority": "high", "agentId": "coder", "projectId": "p1"}),
        ("d", {"priority": "critical"}),
        ("e", {"priority": "low", "projectId": "p1"}),
    ]
    for name, fields in specs:
        ids[name] = service.create_task(db, OWNER, task_payload(f"task {name}", **fields)).task.id
        time.sleep(0.002)  # distinct createdAt, so "newest first" is observable
    service.create_task(db, OTHER, task_payload("not mine"))
    claim_task(db, ids["c"])
    complete_task(db, ids["c"])
    service.cancel_task(db, OWNER, ids["d"])
    return ids


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["e", "d", "c", "b", "a"]),
        ({"status": "queued"}, ["e", "b", "a"]),
        ({"status": "completed"}, ["c"]),
        ({"priority": "high"}, ["c", "b"]),
        ({"agentId": "coder"}, ["c", "a"]),
        ({"projectId": "p1"}, ["e", "c", "a"]),
        ({"projectId": "p1", "priority": "low", "status": "queued"}, ["e", "a"]),
        ({"agentId": "coder", "status": "completed", "projectId": "p1"}, ["c"]),
    ],
)
def test_list_filters(indexed_db: Any, filters: dict[str, str], expected: list[str]) -> None:
    ids = _seed_listing(indexed_db)
    page = service.list_tasks(indexed_db, OWNER, TaskListQuery.model_validate(filters))
    names = {task_id: name for name, task_id in ids.items()}
    assert [names[task.id] for task in page.tasks] == expected
    assert page.next_cursor is None


def test_list_paginates_with_an_opaque_cursor(indexed_db: Any) -> None:
    ids = _seed_listing(indexed_db)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = TaskListQuery.model_validate({"limit": 2, **({"cursor": cursor} if cursor else {})})
        page = service.list_tasks(indexed_db, OWNER, query)
        pages += 1
        seen += [task.id for task in page.tasks]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [ids[name] for name in ["e", "d", "c", "b", "a"]]


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ2IjoxfQ", "e30", "bm90IGpzb24"])
def test_bad_cursor_is_rejected(fs_client: Any, cursor: str) -> None:
    with pytest.raises(service.InvalidCursor):
        service.list_tasks(fs_client, OWNER, TaskListQuery(cursor=cursor))


def test_cursor_of_other_filters_or_user_is_rejected(indexed_db: Any) -> None:
    _seed_listing(indexed_db)
    page = service.list_tasks(indexed_db, OWNER, TaskListQuery(limit=1))
    assert page.next_cursor
    with pytest.raises(service.InvalidCursor):
        service.list_tasks(
            indexed_db, OWNER, TaskListQuery(limit=1, cursor=page.next_cursor, status="queued")
        )
    with pytest.raises(service.InvalidCursor):
        service.list_tasks(indexed_db, OTHER, TaskListQuery(limit=1, cursor=page.next_cursor))


def test_get_is_owner_or_team_member_only(indexed_db: Any) -> None:
    seed_project(
        indexed_db, OWNER, project_id="team", visibility=ProjectVisibility.TEAM, members=["member"]
    )
    seed_project(indexed_db, OWNER, project_id="private", members=["member"])
    in_team = service.create_task(indexed_db, OWNER, task_payload(projectId="team")).task
    in_private = service.create_task(indexed_db, OWNER, task_payload(projectId="private")).task
    assert service.get_task(indexed_db, OWNER, in_private.id).id == in_private.id
    assert service.get_task(indexed_db, "member", in_team.id).id == in_team.id
    for user, task_id in [("member", in_private.id), (OTHER, in_team.id), (OTHER, "nope")]:
        with pytest.raises(service.TaskNotFound):
            service.get_task(indexed_db, user, task_id)
    listed = service.list_tasks(indexed_db, "member", TaskListQuery(projectId="team"))
    assert [task.id for task in listed.tasks] == [in_team.id]
    assert service.list_tasks(indexed_db, "member", TaskListQuery(projectId="private")).tasks == []
    # Members read; only the owner changes.
    with pytest.raises(service.TaskNotFound):
        service.cancel_task(indexed_db, "member", in_team.id)


def test_illegal_transitions_raise_and_change_nothing(fs_client: Any) -> None:
    task = service.create_task(fs_client, OWNER, task_payload()).task
    with pytest.raises(IllegalTransition):
        complete_task(fs_client, task.id)  # queued, never claimed
    with pytest.raises(IllegalTransition):
        service.retry_task(fs_client, OWNER, task.id)  # not failed
    run_to_completion(fs_client, task.id)
    with pytest.raises(IllegalTransition) as caught:
        service.cancel_task(fs_client, OWNER, task.id)
    assert caught.value.details == {"from": "completed", "to": "cancelled", "reason": "user_cancel"}
    assert load(fs_client, task.id).status is TaskStatus.COMPLETED
    assert [e.kind for e in events(fs_client, task.id)] == ["queued", "started", "completed"]


def test_cancel_cascades_to_dependents_with_the_reason(fs_client: Any) -> None:
    root = service.create_task(fs_client, OWNER, task_payload("root")).task
    child = service.create_task(fs_client, OWNER, task_payload("child", dependencies=[root.id]))
    grandchild = service.create_task(
        fs_client, OWNER, task_payload("grandchild", dependencies=[child.task.id])
    )
    done = service.create_task(fs_client, OWNER, task_payload("independent")).task

    result = service.cancel_task(fs_client, OWNER, root.id, reason="not needed")
    assert set(result.cancelled) == {root.id, child.task.id, grandchild.task.id}
    assert load(fs_client, root.id).cancel_reason == "not needed"
    cancelled_child = load(fs_client, child.task.id)
    assert cancelled_child.status is TaskStatus.CANCELLED
    assert cancelled_child.cancel_reason == f"dependency '{root.id}' was cancelled"
    assert cancelled_child.cancelled_at is not None
    [event] = events(fs_client, grandchild.task.id)
    assert event.data == {"reason": "dependency_cancelled", "causedBy": child.task.id}
    assert load(fs_client, done.id).status is TaskStatus.QUEUED

    again = service.cancel_task(fs_client, OWNER, root.id)
    assert again.is_noop and again.task is not None
    assert again.task.cancel_reason == "not needed"


def test_failure_cancels_dependents_and_retry_requeues(fs_client: Any) -> None:
    task = service.create_task(fs_client, OWNER, task_payload()).task
    dependent = service.create_task(fs_client, OWNER, task_payload(dependencies=[task.id])).task
    run_to_failure(fs_client, task.id, error="provider refused")
    failed = load(fs_client, task.id)
    assert failed.status is TaskStatus.FAILED and failed.error == "provider refused"
    assert failed.attempts == 1
    assert load(fs_client, dependent.id).cancel_reason == f"dependency '{task.id}' failed"

    retried = service.retry_task(fs_client, OWNER, task.id)
    assert retried.task is not None and retried.task.status is TaskStatus.QUEUED
    after = load(fs_client, task.id)
    assert after.status is TaskStatus.QUEUED and after.attempts == 1
    assert after.retries == 1 and after.attempts_in_budget == 0
    assert after.error is None and after.failed_at is None
    assert events(fs_client, task.id)[-1].kind == "retried"
    assert len(dispatch_records(fs_client)[task.id]) == 2
    with pytest.raises(IllegalTransition):
        service.retry_task(fs_client, OWNER, task.id)
    with pytest.raises(service.TaskNotFound):
        service.retry_task(fs_client, OTHER, task.id)


def test_idempotent_create(fs_client: Any) -> None:
    payload = task_payload(priority="high")
    first = service.create_task(fs_client, OWNER, payload, idempotency_key="key-1")
    again = service.create_task(fs_client, OWNER, payload, idempotency_key="key-1")
    assert again.replayed and again.task.id == first.task.id and again.status_code == 201
    assert again.task == first.task
    assert task_count(fs_client) == 1
    assert len(dispatch_records(fs_client)) == 1

    with pytest.raises(IdempotencyKeyReused):
        service.create_task(fs_client, OWNER, task_payload(priority="low"), idempotency_key="key-1")
    # Keys are per user: another user's same key is a new request.
    theirs = service.create_task(fs_client, OTHER, payload, idempotency_key="key-1")
    assert not theirs.replayed and theirs.task.id != first.task.id
    assert task_count(fs_client) == 2
    with pytest.raises(InvalidIdempotencyKey):
        service.create_task(fs_client, OWNER, payload, idempotency_key="has space")


def test_idempotent_create_is_atomic_under_concurrency(fs_client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    payload = task_payload()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda _: service.create_task(fs_client, OWNER, payload, idempotency_key="race"),
                range(4),
            )
        )
    assert len({r.task.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert task_count(fs_client) == 1


def test_transition_reasons_are_recorded(fs_client: Any) -> None:
    task = service.create_task(fs_client, OWNER, task_payload()).task
    run_to_completion(fs_client, task.id, outputs={"answer": 42})
    done = load(fs_client, task.id)
    assert done.outputs == {"answer": 42} and done.progress == 1.0
    assert done.started_at is not None and done.completed_at is not None
    assert [e.data["reason"] for e in events(fs_client, task.id)] == [
        TransitionReason.DISPATCH,
        TransitionReason.CLAIM,
        TransitionReason.COMPLETE,
    ]
