"""The invariants the platform promises, as functions over its final state and the client's log.

Each check takes a `Snapshot` (what Firestore and the emulators hold once the run has quiesced)
and a `ClientLog` (what the driver's users sent and were answered) and returns a `Check`:
how many things it looked at, the violations, and the known exceptions (a documented limit of
the design, reported apart from violations so a run can pass with them). Pure: no I/O, so each
check is unit-tested on hand-made bad states (tests/chaos/test_invariants.py).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aide.domain.task_lifecycle import LEGAL_TRANSITIONS

Doc = dict[str, Any]

TERMINAL = frozenset({"completed", "failed", "cancelled"})
# What a status-change event or audit entry records for "no status yet" (creation).
STATUS_COUNT_FIELDS = {
    "pending": "pending",
    "queued": "queued",
    "in_progress": "inProgress",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
_LEGAL = {(frm.value, to.value) for frm, to in LEGAL_TRANSITIONS}


@dataclasses.dataclass
class Snapshot:
    tasks: dict[str, Doc] = dataclasses.field(default_factory=dict)
    events: dict[str, list[Doc]] = dataclasses.field(default_factory=dict)  # per task id
    memory_steps: dict[str, list[Doc]] = dataclasses.field(default_factory=dict)  # per task id
    groups: dict[str, Doc] = dataclasses.field(default_factory=dict)
    dispatches: list[Doc] = dataclasses.field(default_factory=list)
    audit_logs: list[Doc] = dataclasses.field(default_factory=list)
    quota_counters: list[Doc] = dataclasses.field(default_factory=list)
    task_slots: list[Doc] = dataclasses.field(default_factory=list)
    dead_letters: list[Doc] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Call:
    """One HTTP request of a simulated user, as the client saw it."""

    uid: str
    method: str
    operation: str  # e.g. "tasks.create", "tasks.get"
    status: int | None  # None: no answer (connection refused / reset, timeout)
    units: int  # what admission charges for it (aide.domain.quota.DEFAULT_UNITS), refunds made
    in_fault_window: bool  # sent while an injected outage (host killed, Firestore down) lasted
    latency_s: float = 0.0
    error: str = ""
    max_units: int | None = None  # the full price, where a refund may have failed (else units)

    @property
    def most_units(self) -> int:
        return self.units if self.max_units is None else max(self.units, self.max_units)


@dataclasses.dataclass
class ClientLog:
    calls: list[Call] = dataclasses.field(default_factory=list)
    created_tasks: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> uid
    created_groups: dict[str, str] = dataclasses.field(default_factory=dict)
    cancelled_tasks: set[str] = dataclasses.field(default_factory=set)  # cancel answered 200
    retried_tasks: set[str] = dataclasses.field(default_factory=set)  # retry answered 2xx


@dataclasses.dataclass
class Check:
    name: str
    promise: str
    checked: int = 0
    violations: list[str] = dataclasses.field(default_factory=list)
    exceptions: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _when(doc: Doc, field: str = "timestamp") -> Any:
    value = doc.get(field)
    return value if value is not None else datetime.min


def status_events(events: Iterable[Doc]) -> list[Doc]:
    """A task's status changes in the order they happened (ties broken by following the chain)."""
    changes = [e for e in events if e.get("toStatus")]
    changes.sort(key=lambda e: (_when(e), e.get("sequence") or 0))
    return _chain_order(changes, lambda e: e.get("fromStatus"), lambda e: e.get("toStatus"))


def _chain_order(
    items: list[Doc], before: Callable[[Doc], Any], after: Callable[[Doc], Any]
) -> list[Doc]:
    """Within runs of equal timestamps, order items so each one starts where the last ended."""
    ordered: list[Doc] = []
    index = 0
    while index < len(items):
        end = index
        while end + 1 < len(items) and _when(items[end + 1]) == _when(items[index]):
            end += 1
        tied = items[index : end + 1]
        current = after(ordered[-1]) if ordered else None
        while tied:
            pick = next((i for i in tied if before(i) == current), tied[0])
            tied.remove(pick)
            ordered.append(pick)
            current = after(pick)
        index = end + 1
    return ordered


def _tasks_by_status(snapshot: Snapshot) -> Mapping[str, str]:
    return {task_id: str(task.get("status")) for task_id, task in snapshot.tasks.items()}


# The checks ----------------------------------------------------------------------------------


def tasks_settled(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "tasks settled",
        "every task is terminal, or pending behind a dependency that has not completed",
    )
    status = _tasks_by_status(snapshot)
    for task_id, task in snapshot.tasks.items():
        check.checked += 1
        state = status[task_id]
        if state in TERMINAL:
            continue
        if state == "pending":
            deps = [str(d) for d in task.get("dependencies") or []]
            waiting = [d for d in deps if status.get(d) not in ("completed", "failed", "cancelled")]
            broken = [d for d in deps if status.get(d) in ("failed", "cancelled")]
            if waiting and not broken:
                continue
            why = "a failed/cancelled dependency" if broken else "all dependencies completed"
            check.violations.append(f"task {task_id} pending with {why}")
            continue
        check.violations.append(f"task {task_id} still {state} after quiescence")
    return check


def acknowledged_writes_kept(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "acknowledged writes kept",
        "every task/group a client got a 2xx for exists; every acknowledged cancel holds",
    )
    for task_id in log.created_tasks:
        check.checked += 1
        if task_id not in snapshot.tasks:
            check.violations.append(f"task {task_id} acknowledged to its client but missing")
    for group_id in log.created_groups:
        check.checked += 1
        if group_id not in snapshot.groups:
            check.violations.append(f"group {group_id} acknowledged to its client but missing")
    for task_id in log.cancelled_tasks:
        check.checked += 1
        task = snapshot.tasks.get(task_id)
        if task is None or task.get("status") != "cancelled":
            state = None if task is None else task.get("status")
            check.violations.append(f"task {task_id} cancel acknowledged but it is {state}")
    for task_id in log.retried_tasks:
        check.checked += 1
        kinds = {e.get("data", {}).get("reason") for e in snapshot.events.get(task_id, [])}
        if "retry" not in kinds:
            check.violations.append(f"task {task_id} retry acknowledged but never recorded")
    return check


def status_history_consistent(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "status history",
        "each task's status events form one legal chain ending in its status; one completion",
    )
    for task_id, task in snapshot.tasks.items():
        check.checked += 1
        changes = status_events(snapshot.events.get(task_id, []))
        if not changes:
            if task.get("status") != "pending":
                check.violations.append(f"task {task_id} is {task.get('status')} with no events")
            continue
        previous = changes[0].get("fromStatus") or "pending"
        if previous != "pending":
            check.violations.append(f"task {task_id} history starts from {previous}")
        for event in changes:
            frm, to = event.get("fromStatus"), event.get("toStatus")
            if frm != previous:
                check.violations.append(
                    f"task {task_id}: event {event.get('id')} {frm}->{to} follows {previous}"
                )
            elif (frm, to) not in _LEGAL:
                check.violations.append(f"task {task_id}: illegal move {frm}->{to}")
            previous = to
        if previous != task.get("status"):
            check.violations.append(
                f"task {task_id}: history ends in {previous}, document says {task.get('status')}"
            )
        completions = sum(1 for e in changes if e.get("toStatus") == "completed")
        if completions > 1:
            check.violations.append(f"task {task_id} completed {completions} times")
        if check.violations and check.violations[-1].startswith(f"task {task_id}"):
            check.violations[-1] += " — history: " + describe_history(changes)
    return check


def describe_history(changes: Sequence[Doc]) -> str:
    """`queued>in_progress (claim, 12:00:01.123456)` for each status event, in order."""
    parts = []
    for event in changes:
        when = event.get("timestamp")
        clock = when.strftime("%H:%M:%S.%f") if isinstance(when, datetime) else str(when)
        reason = (event.get("data") or {}).get("reason")
        parts.append(f"{event.get('fromStatus')}>{event.get('toStatus')} ({reason}, {clock})")
    return "; ".join(parts)


def steps_exactly_once(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "steps exactly once",
        "one step event and one memory node per step, numbered 1..n; completed tasks count n",
    )
    for task_id, task in snapshot.tasks.items():
        check.checked += 1
        steps = sorted(
            int(e.get("data", {}).get("step", 0))
            for e in snapshot.events.get(task_id, [])
            if e.get("kind") == "step"
        )
        nodes = sorted(int(n.get("stepIndex", 0)) for n in snapshot.memory_steps.get(task_id, []))
        expected = list(range(1, len(steps) + 1))
        if steps != expected:
            check.violations.append(f"task {task_id}: step events {steps}")
        if nodes != steps:
            check.violations.append(f"task {task_id}: memory steps {nodes} vs step events {steps}")
        if task.get("status") == "completed":
            counted = (task.get("metrics") or {}).get("stepCount")
            if not steps or (counted is not None and counted != len(steps)):
                check.violations.append(
                    f"task {task_id}: completed with {len(steps)} steps, stepCount {counted}"
                )
    return check


def dependents_dispatched_once(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "dependents once",
        "a dependent is dispatched exactly once when its dependencies complete, else cancelled "
        "with a reason",
    )
    status = _tasks_by_status(snapshot)
    for task_id, task in snapshot.tasks.items():
        if task.get("status") == "cancelled" and not task.get("cancelReason"):
            check.violations.append(f"task {task_id} cancelled without a reason")
        deps = [str(d) for d in task.get("dependencies") or []]
        if not deps:
            continue
        check.checked += 1
        dispatches = sum(
            1
            for e in snapshot.events.get(task_id, [])
            if e.get("fromStatus") == "pending" and e.get("toStatus") == "queued"
        )
        if dispatches > 1:
            check.violations.append(f"task {task_id} dispatched {dispatches} times")
        if all(status.get(d) == "completed" for d in deps):
            if dispatches != 1 and task.get("status") != "cancelled":
                check.violations.append(
                    f"task {task_id}: dependencies completed, dispatched {dispatches} times"
                )
        elif (
            any(status.get(d) in ("failed", "cancelled") for d in deps)
            and dispatches == 0
            and task.get("status") != "cancelled"
        ):
            check.violations.append(
                f"task {task_id}: a dependency failed/cancelled, task is {task.get('status')}"
            )
    return check


def group_counts_match(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check("group counts", "each group's counters equal its tasks' statuses")
    members: dict[str, list[str]] = collections.defaultdict(list)
    for task_id, task in snapshot.tasks.items():
        if task.get("groupId"):
            members[str(task["groupId"])].append(task_id)
    for group_id, group in snapshot.groups.items():
        check.checked += 1
        actual = collections.Counter(
            STATUS_COUNT_FIELDS[str(snapshot.tasks[t].get("status"))] for t in members[group_id]
        )
        counts = group.get("counts") or {}
        stored = {field: int(counts.get(field, 0)) for field in STATUS_COUNT_FIELDS.values()}
        expected = {field: actual.get(field, 0) for field in STATUS_COUNT_FIELDS.values()}
        if stored != expected:
            check.violations.append(f"group {group_id}: counts {stored}, tasks say {expected}")
        listed = {str(m.get("id")) for m in group.get("tasks") or []}
        if listed != set(members[group_id]):
            check.violations.append(
                f"group {group_id} lists {len(listed)} tasks, {len(members[group_id])} point to it"
            )
    return check


def quota_matches_admitted_calls(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "quota = admitted calls",
        "each user's API-call counters equal the units of the calls admitted (calls with no "
        "answer may or may not have been admitted)",
    )
    counted: dict[str, int] = collections.Counter()
    for counter in snapshot.quota_counters:
        uid = str(counter.get("userId"))
        calls = int(counter.get("apiCalls", 0))
        counted[uid] += calls
        minutes = sum(int(v) for v in (counter.get("minutes") or {}).values())
        if minutes != calls:
            check.violations.append(
                f"counter of {uid} shard {counter.get('shard')}: minutes sum {minutes} != {calls}"
            )
    low: dict[str, int] = collections.Counter()
    high: dict[str, int] = collections.Counter()
    for call in log.calls:
        if call.status is None or call.status >= 500:
            high[call.uid] += call.most_units
        elif call.status not in (401, 403, 429):
            low[call.uid] += call.units
            high[call.uid] += call.most_units
    for uid in set(low) | set(high):
        check.checked += 1
        if not low[uid] <= counted[uid] <= high[uid]:
            check.violations.append(
                f"user {uid}: counters hold {counted[uid]} units, admitted calls "
                f"{low[uid]}..{high[uid]}"
            )
    return check


def audit_once_per_change(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "audit once per change",
        "every status change of a task or group has exactly one audit entry",
    )
    entries: dict[tuple[str, str], list[Doc]] = collections.defaultdict(list)
    for entry in snapshot.audit_logs:
        if entry.get("resourceType") in ("task", "task_group"):
            entries[(str(entry["resourceType"]), str(entry.get("resourceId")))].append(entry)
    # Task and group changes write their entry in their own transaction (services.audit_trail.
    # audited_stamp): a lost or failed audit trigger delivery excuses no gap.
    for resource, docs in (("task", snapshot.tasks), ("task_group", snapshot.groups)):
        for doc_id, doc in docs.items():
            check.checked += 1
            problems = _audit_chain_problems(entries.get((resource, doc_id), []), doc)
            if problems:
                check.violations.append(f"{resource} {doc_id}: {'; '.join(problems)}")
    return check


def _audit_chain_problems(entries: Sequence[Doc], doc: Doc) -> list[str]:
    def before(entry: Doc) -> Any:
        return (entry.get("before") or {}).get("status")

    def after(entry: Doc) -> Any:
        return (entry.get("after") or {}).get("status")

    ordered = _chain_order(sorted(entries, key=_when), before, after)
    problems: list[str] = []
    if not ordered:
        return ["no audit entry"]
    if ordered[0].get("before") is not None:
        problems.append("no creation entry")
    previous = None if ordered[0].get("before") is None else before(ordered[0])
    for entry in ordered:
        if before(entry) != previous and not (entry is ordered[0] and problems):
            problems.append(f"entry {before(entry)}->{after(entry)} follows {previous}")
        previous = after(entry)
    if previous != doc.get("status"):
        problems.append(f"entries end in {previous}, document is {doc.get('status')}")
    return problems


def outbox_drained(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check("outbox drained", "every dispatch record is published and names a real task")
    for record in snapshot.dispatches:
        check.checked += 1
        if not record.get("published"):
            check.violations.append(f"dispatch {record.get('id')} never published")
        if str(record.get("taskId")) not in snapshot.tasks:
            check.violations.append(f"dispatch {record.get('id')} names a missing task")
    return check


def run_slots_released(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "run slots released",
        "no run slot held for a task that is not running, none waited for once nothing runs",
    )
    for slots in snapshot.task_slots:
        check.checked += 1
        owner = slots.get("agentId") or slots.get("userId")
        for task_id in slots.get("running") or []:
            status = (snapshot.tasks.get(str(task_id)) or {}).get("status")
            if status in TERMINAL:
                # By design a run that lost its task may leave its slot; admission reclaims the
                # slots of ended runs when the pool is full (services.run_endings).
                check.exceptions.append(f"slots of {owner}: ended task {task_id} ({status})")
            else:
                check.violations.append(f"slots of {owner}: still running {task_id} ({status})")
        if slots.get("waiting"):
            check.violations.append(f"slots of {owner}: still waiting {slots['waiting']}")
    return check


def no_lost_messages(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check("no lost messages", "no Pub/Sub message exhausted its delivery attempts")
    check.checked = len(snapshot.dead_letters)
    for letter in snapshot.dead_letters:
        check.violations.append(
            f"message {letter.get('messageId')} on {letter.get('topic')} dead-lettered "
            f"({letter.get('lastStatus')} {letter.get('lastError')})"
        )
    return check


def no_unexpected_server_errors(snapshot: Snapshot, log: ClientLog) -> Check:
    check = Check(
        "no unexpected 5xx",
        "no client saw a 5xx or a dropped connection outside an injected outage",
    )
    for call in log.calls:
        check.checked += 1
        if call.status is not None and call.status < 500:
            continue
        text = f"{call.method} {call.operation} -> {call.status or call.error}"
        if call.in_fault_window:
            check.exceptions.append(text + " (during an injected outage)")
        else:
            check.violations.append(text)
    return check


CHECKS: tuple[Callable[[Snapshot, ClientLog], Check], ...] = (
    tasks_settled,
    acknowledged_writes_kept,
    status_history_consistent,
    steps_exactly_once,
    dependents_dispatched_once,
    group_counts_match,
    quota_matches_admitted_calls,
    audit_once_per_change,
    outbox_drained,
    run_slots_released,
    no_lost_messages,
    no_unexpected_server_errors,
)


def check_all(snapshot: Snapshot, log: ClientLog) -> list[Check]:
    return [check(snapshot, log) for check in CHECKS]


def table(checks: Sequence[Check], limit: int = 3) -> str:
    """The invariant table (Markdown), with the first violations of each failed check."""
    lines = [
        "| invariant | checked | violations | known exceptions | result |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for check in checks:
        result = "ok" if check.ok else "FAILED"
        lines.append(
            f"| {check.name} | {check.checked} | {len(check.violations)} | "
            f"{len(check.exceptions)} | {result} |"
        )
    for check in checks:
        for violation in check.violations[:limit]:
            lines.append(f"- {check.name}: {violation}")
        for exception in check.exceptions[:limit]:
            lines.append(f"- {check.name} (known exception): {exception}")
    return "\n".join(lines)
