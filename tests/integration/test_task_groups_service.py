"""services.task_groups against the Firestore emulator: graph validation, the atomic write,
dispatch in dependency order, group status and progress, cancellation and idempotency."""

from __future__ import annotations

from typing import Any

import pytest

from aide.adapters.repositories.task_groups import TaskGroupRepository
from aide.adapters.repositories.tasks import TaskRepository
from aide.domain.task_graph import GroupStatus, TaskGraphError, TaskGraphErrorCode
from aide.domain.task_groups import TaskGroup, TaskGroupCreate
from aide.domain.task_lifecycle import TaskStatus
from aide.services import task_groups as service
from aide.services.idempotent_requests import IdempotencyKeyReused
from aide.services.tasks import InvalidReference
from tests.integration.task_support import (
    dispatch_records,
    events,
    load,
    run_to_completion,
    run_to_failure,
    seed_agent,
)

OWNER = "user-owner"


def spec(ref: str, *deps: str, **fields: Any) -> dict[str, Any]:
    return {
        "ref": ref,
        "title": f"Task {ref}",
        "description": f"Work item {ref}, described.",
        "dependencies": list(deps),
        **fields,
    }


def group_payload(*specs: dict[str, Any], **fields: Any) -> TaskGroupCreate:
    return TaskGroupCreate.model_validate({"tasks": list(specs), **fields})


def stored_group(db: Any, group_id: str) -> TaskGroup:
    group = TaskGroupRepository(db).get(group_id)
    assert group is not None
    return group


def nothing_written(db: Any) -> bool:
    return not list(TaskRepository(db).collection.stream()) and not list(
        TaskGroupRepository(db).collection.stream()
    )


@pytest.mark.parametrize(
    ("specs", "code", "named"),
    [
        ([spec("a"), spec("b", "zz")], TaskGraphErrorCode.UNKNOWN_REF, "zz"),
        ([spec("a"), spec("a")], TaskGraphErrorCode.DUPLICATE_REF, "'a'"),
        ([spec("a", "a")], TaskGraphErrorCode.SELF_DEPENDENCY, "'a'"),
        (
            [spec("a", "c"), spec("b", "a"), spec("c", "b"), spec("d")],
            TaskGraphErrorCode.DEPENDENCY_CYCLE,
            "a -> c -> b -> a",
        ),
    ],
)
def test_invalid_graphs_are_rejected_naming_the_refs(
    fs_client: Any, specs: list[dict[str, Any]], code: TaskGraphErrorCode, named: str
) -> None:
    with pytest.raises(TaskGraphError) as caught:
        service.create_task_group(fs_client, OWNER, group_payload(*specs))
    assert caught.value.code is code
    assert named in caught.value.message
    if code is TaskGraphErrorCode.DEPENDENCY_CYCLE:
        assert caught.value.details == {"cycle": ["a", "c", "b", "a"]}
    assert nothing_written(fs_client)


def test_create_writes_everything_and_dispatches_roots(fs_client: Any) -> None:
    created = service.create_task_group(
        fs_client,
        OWNER,
        group_payload(spec("a"), spec("b"), spec("c", "a", "b"), spec("d", "c"), name="Pipeline"),
    )
    group = created.group
    assert created.status_code == 201 and group.name == "Pipeline"
    ids = {member.ref: member.id for member in group.tasks}
    assert list(ids) == ["a", "b", "c", "d"]
    assert group.status is GroupStatus.RUNNING and group.progress == 0.0
    assert group.counts.as_dict() == {
        "pending": 2,
        "queued": 2,
        "in_progress": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert stored_group(fs_client, group.id) == group
    c = load(fs_client, ids["c"])
    assert c.status is TaskStatus.PENDING and c.group_id == group.id
    assert c.dependencies == [ids["a"], ids["b"]] and c.dependents == [ids["d"]]
    assert c.unmet_dependencies == 2
    assert load(fs_client, ids["a"]).status is TaskStatus.QUEUED
    assert set(dispatch_records(fs_client)) == {ids["a"], ids["b"]}


def test_write_is_atomic(fs_client: Any) -> None:
    seed_agent(fs_client, "coder")
    specs = [spec(f"t{i}", agentId="coder") for i in range(50)] + [spec("bad", agentId="ghost")]
    with pytest.raises(InvalidReference) as caught:
        service.create_task_group(fs_client, OWNER, group_payload(*specs))
    assert caught.value.field == "tasks.50.agentId"
    assert nothing_written(fs_client)


def test_a_thousand_task_group_is_written_in_one_commit(fs_client: Any) -> None:
    specs = [spec("t0")] + [spec(f"t{i}", f"t{i - 1}") for i in range(1, 1000)]
    group = service.create_task_group(fs_client, OWNER, group_payload(*specs)).group
    assert group.counts.total == 1000 and group.counts.queued == 1
    assert len(list(TaskRepository(fs_client).collection.select([]).stream())) == 1000


def test_three_levels_complete_in_dependency_order(fs_client: Any) -> None:
    group = service.create_task_group(
        fs_client,
        OWNER,
        group_payload(
            spec("plan"), spec("code", "plan"), spec("test", "plan"), spec("ship", "code", "test")
        ),
    ).group
    ids = {member.ref: member.id for member in group.tasks}
    order: list[str] = []
    while True:
        queued = [
            ref
            for ref, task_id in ids.items()
            if load(fs_client, task_id).status is TaskStatus.QUEUED
        ]
        if not queued:
            break
        for ref in queued:
            run_to_completion(fs_client, ids[ref])
            order.append(ref)
    assert order == ["plan", "code", "test", "ship"]
    done = stored_group(fs_client, group.id)
    assert done.status is GroupStatus.COMPLETED and done.progress == 1.0
    assert done.completed_at is not None and done.counts.completed == 4
    assert {task_id: len(records) for task_id, records in dispatch_records(fs_client).items()} == {
        task_id: 1 for task_id in ids.values()
    }


def test_progress_and_failure(fs_client: Any) -> None:
    group = service.create_task_group(
        fs_client, OWNER, group_payload(spec("a"), spec("b"), spec("c", "a"), spec("d", "b"))
    ).group
    ids = {member.ref: member.id for member in group.tasks}
    run_to_completion(fs_client, ids["a"])
    assert stored_group(fs_client, group.id).progress == 0.25
    run_to_failure(fs_client, ids["b"])
    assert load(fs_client, ids["d"]).status is TaskStatus.CANCELLED
    assert stored_group(fs_client, group.id).status is GroupStatus.RUNNING
    run_to_completion(fs_client, ids["c"])
    final = stored_group(fs_client, group.id)
    assert final.status is GroupStatus.FAILED and final.progress == 0.5
    assert final.counts.as_dict() == {
        "pending": 0,
        "queued": 0,
        "in_progress": 0,
        "completed": 2,
        "failed": 1,
        "cancelled": 1,
    }


def test_cancel_group_cancels_everything_unfinished(fs_client: Any) -> None:
    group = service.create_task_group(
        fs_client, OWNER, group_payload(spec("a"), spec("b", "a"), spec("c"))
    ).group
    ids = {member.ref: member.id for member in group.tasks}
    run_to_completion(fs_client, ids["c"])
    from tests.support.task_runs import claim_task

    claim_task(fs_client, ids["a"])
    cancelled, result = service.cancel_task_group(fs_client, OWNER, group.id, reason="stop")
    assert set(result.cancelled) == {ids["a"], ids["b"]}
    assert cancelled.status is GroupStatus.CANCELLED
    assert load(fs_client, ids["b"]).cancel_reason == "stop"
    assert load(fs_client, ids["c"]).status is TaskStatus.COMPLETED
    assert events(fs_client, ids["a"])[-1].data["reason"] == "group_cancelled"
    again_group, again = service.cancel_task_group(fs_client, OWNER, group.id)
    assert again.is_noop and again_group == cancelled
    with pytest.raises(service.TaskGroupNotFound):
        service.cancel_task_group(fs_client, "intruder", group.id)
    with pytest.raises(service.TaskGroupNotFound):
        service.get_task_group(fs_client, "intruder", group.id)


def test_idempotent_group_create(fs_client: Any) -> None:
    payload = group_payload(spec("a"), spec("b", "a"))
    first = service.create_task_group(fs_client, OWNER, payload, idempotency_key="g-1")
    again = service.create_task_group(fs_client, OWNER, payload, idempotency_key="g-1")
    assert again.replayed and again.group.id == first.group.id
    assert len(list(TaskGroupRepository(fs_client).collection.stream())) == 1
    assert len(list(TaskRepository(fs_client).collection.stream())) == 2
    with pytest.raises(IdempotencyKeyReused):
        service.create_task_group(fs_client, OWNER, group_payload(spec("a")), idempotency_key="g-1")
