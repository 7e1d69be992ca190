"""Each invariant of the reliability suite holds on a consistent state and fails on a state
broken the way it is meant to catch (so no check can pass vacuously)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from benchmarks.reliability import invariants as inv

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def status_event(task: str, n: int, frm: str | None, to: str, reason: str) -> dict[str, Any]:
    return {
        "id": f"{task}-e{n}",
        "kind": to,
        "fromStatus": frm,
        "toStatus": to,
        "timestamp": at(n),
        "data": {"reason": reason},
    }


def step_event(n: int) -> dict[str, Any]:
    return {"id": f"step-{n:03d}", "kind": "step", "timestamp": at(10 + n), "data": {"step": n}}


def audit(resource: str, rid: str, n: int, before: str | None, after: str) -> dict[str, Any]:
    return {
        "id": f"evt_{rid}_{n}",
        "resourceType": resource,
        "resourceId": rid,
        "before": None if before is None else {"status": before},
        "after": {"status": after},
        "timestamp": at(n),
    }


def completed_run(task: str, start: int = 1) -> list[dict[str, Any]]:
    return [
        status_event(task, start, "queued", "in_progress", "claim"),
        step_event(1),
        step_event(2),
        status_event(task, start + 5, "in_progress", "completed", "complete"),
    ]


@pytest.fixture
def good() -> tuple[inv.Snapshot, inv.ClientLog]:
    return make_good()


def make_good() -> tuple[inv.Snapshot, inv.ClientLog]:
    """User u: a group g of a -> b (b depends on a), both completed, and a cancelled task c."""
    tasks = {
        "a": {"status": "completed", "groupId": "g", "metrics": {"stepCount": 2}},
        "b": {"status": "completed", "groupId": "g", "dependencies": ["a"]},
        "c": {"status": "cancelled", "cancelReason": "user_cancel"},
    }
    events = {
        "a": [status_event("a", 0, "pending", "queued", "dispatch"), *completed_run("a")],
        "b": [status_event("b", 7, "pending", "queued", "dispatch"), *completed_run("b", 8)],
        "c": [
            status_event("c", 0, "pending", "queued", "dispatch"),
            status_event("c", 1, "queued", "cancelled", "user_cancel"),
        ],
    }
    memory = {t: [{"stepIndex": 1}, {"stepIndex": 2}] for t in ("a", "b")}
    audit_logs = [
        audit("task", "a", 0, None, "queued"),
        audit("task", "a", 1, "queued", "in_progress"),
        audit("task", "a", 6, "in_progress", "completed"),
        audit("task", "b", 0, None, "pending"),
        audit("task", "b", 7, "pending", "queued"),
        audit("task", "b", 8, "queued", "in_progress"),
        audit("task", "b", 13, "in_progress", "completed"),
        audit("task", "c", 0, None, "queued"),
        audit("task", "c", 1, "queued", "cancelled"),
        audit("task_group", "g", 0, None, "running"),
        audit("task_group", "g", 13, "running", "completed"),
    ]
    snapshot = inv.Snapshot(
        tasks=tasks,
        events=events,
        memory_steps=memory,
        groups={
            "g": {
                "status": "completed",
                "counts": {"completed": 2},
                "tasks": [{"id": "a"}, {"id": "b"}],
            }
        },
        dispatches=[
            {"id": "d1", "taskId": "a", "published": True},
            {"id": "d2", "taskId": "b", "published": True},
        ],
        audit_logs=audit_logs,
        quota_counters=[
            {"userId": "u", "shard": 0, "apiCalls": 6, "minutes": {"1200": 6}},
            {"userId": "u", "shard": 3, "apiCalls": 2, "minutes": {"1200": 1, "1201": 1}},
        ],
        task_slots=[{"userId": "u", "running": [], "waiting": []}],
    )
    calls = [
        inv.Call("u", "POST", "task_groups.create", 201, 5, False),
        inv.Call("u", "POST", "tasks.cancel", 200, 1, False),
        inv.Call("u", "GET", "tasks.get", 200, 1, False),
        inv.Call("u", "GET", "tasks.get", 429, 1, False),
        inv.Call("u", "GET", "tasks.get", None, 1, True, error="connection refused"),
    ]
    log = inv.ClientLog(calls=calls, created_groups={"g": "u"}, created_tasks={"c": "u"})
    log.cancelled_tasks.add("c")
    return snapshot, log


def failing(check: inv.Check) -> list[str]:
    assert not check.ok, f"{check.name} passed a broken state"
    return check.violations


def test_a_consistent_state_passes_every_check(good) -> None:
    snapshot, log = good
    checks = inv.check_all(snapshot, log)
    assert [c.name for c in checks if not c.ok] == [], inv.table(checks)
    assert all(c.checked > 0 for c in checks if c.name != "no lost messages")
    assert "| tasks settled |" in inv.table(checks)


def test_unsettled_task_is_caught(good) -> None:
    snapshot, log = good
    snapshot.tasks["c"]["status"] = "queued"
    assert "still queued" in failing(inv.tasks_settled(snapshot, log))[0]
    snapshot.tasks["c"]["status"] = "cancelled"
    snapshot.tasks["b"]["status"] = "pending"  # its dependency completed: should have run
    assert "all dependencies completed" in failing(inv.tasks_settled(snapshot, log))[0]


def test_lost_acknowledged_write_is_caught(good) -> None:
    snapshot, log = good
    del snapshot.tasks["c"]
    assert "missing" in failing(inv.acknowledged_writes_kept(snapshot, log))[0]
    snapshot, log = make_good()
    log.retried_tasks.add("a")
    assert "retry acknowledged" in failing(inv.acknowledged_writes_kept(snapshot, log))[0]


def test_broken_status_history_is_caught(good) -> None:
    snapshot, log = good
    snapshot.events["a"].append(status_event("a", 9, "in_progress", "completed", "complete"))
    problems = failing(inv.status_history_consistent(snapshot, log))
    assert any("follows completed" in p for p in problems)
    assert any("completed 2 times" in p for p in problems)


def test_duplicated_or_missing_step_is_caught(good) -> None:
    snapshot, log = good
    snapshot.memory_steps["a"].append({"stepIndex": 2})  # a second run wrote step 2 again
    assert "memory steps" in failing(inv.steps_exactly_once(snapshot, log))[0]
    snapshot, log = make_good()
    snapshot.events["b"] = [e for e in snapshot.events["b"] if e.get("id") != "step-001"]
    assert "step events [2]" in failing(inv.steps_exactly_once(snapshot, log))[0]


def test_dependent_dispatched_twice_or_left_behind_is_caught(good) -> None:
    snapshot, log = good
    snapshot.events["b"].append(status_event("b", 30, "pending", "queued", "dispatch"))
    assert "dispatched 2 times" in failing(inv.dependents_dispatched_once(snapshot, log))[0]
    snapshot, log = make_good()
    snapshot.tasks["a"]["status"] = "failed"
    snapshot.events["b"] = []
    snapshot.tasks["b"]["status"] = "pending"
    assert "a dependency failed" in failing(inv.dependents_dispatched_once(snapshot, log))[0]
    snapshot.tasks["b"]["status"] = "cancelled"
    assert "without a reason" in failing(inv.dependents_dispatched_once(snapshot, log))[0]


def test_group_counter_drift_is_caught(good) -> None:
    snapshot, log = good
    snapshot.groups["g"]["counts"] = {"completed": 1, "inProgress": 1}
    assert "counts" in failing(inv.group_counts_match(snapshot, log))[0]


def test_a_refunded_call_counts_one_unit_or_its_full_price(good) -> None:
    snapshot, log = good
    # An idempotent replay of a create: charged 1 unit, 4 given back (or kept if the refund
    # failed). The counters hold 8 (7..8 before): with the replay, 8..13 is right.
    log.calls.append(inv.Call("u", "POST", "tasks.create", 200, 1, False, max_units=5))
    assert inv.quota_matches_admitted_calls(snapshot, log).ok
    snapshot.quota_counters[1]["apiCalls"] = 7  # 13: the refund failed, the full price stands
    snapshot.quota_counters[1]["minutes"] = {"1200": 7}
    assert inv.quota_matches_admitted_calls(snapshot, log).ok
    snapshot.quota_counters[1]["apiCalls"] = 8  # 14: more than even the full price
    snapshot.quota_counters[1]["minutes"] = {"1200": 8}
    assert "admitted calls 8..13" in failing(inv.quota_matches_admitted_calls(snapshot, log))[0]


def test_quota_over_or_under_count_is_caught(good) -> None:
    snapshot, log = good
    # admitted for sure: 5 + 1 + 1 = 7; maybe one more (no answer): 7..8; counters hold 8.
    assert inv.quota_matches_admitted_calls(snapshot, log).ok
    snapshot.quota_counters[0]["apiCalls"] = 7  # 9: more than was admitted
    snapshot.quota_counters[0]["minutes"] = {"1200": 7}
    assert "admitted calls 7..8" in failing(inv.quota_matches_admitted_calls(snapshot, log))[0]
    snapshot.quota_counters[0]["apiCalls"] = 4  # 6: an admitted call was not counted
    snapshot.quota_counters[0]["minutes"] = {"1200": 4}
    assert "hold 6 units" in failing(inv.quota_matches_admitted_calls(snapshot, log))[0]
    snapshot.quota_counters[1]["apiCalls"] = 3  # minutes map says 2
    assert any(
        "minutes sum" in v for v in inv.quota_matches_admitted_calls(snapshot, log).violations
    )


def test_missing_or_duplicate_audit_entry_is_caught(good) -> None:
    snapshot, log = good
    snapshot.audit_logs = [e for e in snapshot.audit_logs if e["id"] != "evt_b_8"]
    assert "follows queued" in failing(inv.audit_once_per_change(snapshot, log))[0]
    snapshot, log = make_good()
    snapshot.audit_logs.append({**snapshot.audit_logs[1], "id": "evt_dup", "timestamp": at(2)})
    assert "task a" in failing(inv.audit_once_per_change(snapshot, log))[0]


def test_unpublished_outbox_record_is_caught(good) -> None:
    snapshot, log = good
    snapshot.dispatches.append({"id": "d3", "taskId": "zz", "published": False})
    problems = failing(inv.outbox_drained(snapshot, log))
    assert len(problems) == 2


def test_leaked_run_slot_is_caught(good) -> None:
    snapshot, log = good
    snapshot.task_slots[0]["waiting"] = ["c"]
    assert "still waiting" in failing(inv.run_slots_released(snapshot, log))[0]
    snapshot, log = make_good()
    snapshot.tasks["c"]["status"] = "queued"
    snapshot.task_slots[0]["running"] = ["c"]
    assert "still running c (queued)" in failing(inv.run_slots_released(snapshot, log))[0]


def test_slot_left_by_an_ended_run_is_a_known_exception(good) -> None:
    snapshot, log = good
    snapshot.task_slots[0]["running"] = ["a"]  # completed: reclaimed when the pool is full
    check = inv.run_slots_released(snapshot, log)
    assert check.ok and len(check.exceptions) == 1


def test_dead_letter_is_caught(good) -> None:
    snapshot, log = good
    snapshot.dead_letters = [{"messageId": "1", "topic": "task-dispatch", "lastStatus": 500}]
    assert "dead-lettered" in failing(inv.no_lost_messages(snapshot, log))[0]


def test_server_error_outside_an_outage_is_caught(good) -> None:
    snapshot, log = good
    check = inv.no_unexpected_server_errors(snapshot, log)
    assert check.ok and len(check.exceptions) == 1  # the refused connection during an outage
    log.calls.append(inv.Call("u", "GET", "tasks.list", 500, 1, False))
    assert "tasks.list -> 500" in failing(inv.no_unexpected_server_errors(snapshot, log))[0]
