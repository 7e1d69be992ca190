"""The soak: simulated users drive the local stack over HTTP while faults are injected, then
everything quiesces and the invariants are checked.

`run(config)` starts its own stack (free ports, Firestore persisted so it can restart from its
export, Pub/Sub retrying for minutes as Pub/Sub does for days), signs `users` users up with the
Auth emulator (real ID tokens), and runs `workers` threads for `duration_s` seconds, each
picking seeded operations: single tasks (some with provider faults: transient 503/429 errors,
permanent errors, latency), task groups of `group_sizes` with dependencies, cancels of tasks and
groups, retries of failed tasks, creates repeated with the same Idempotency-Key, knowledge
writes, and REST reads. A fault thread meanwhile switches on push failures, lost answers, lost
trigger deliveries and duplicate delivery, kills and restarts the functions host, restarts
Firestore from its export during a pause, and runs the sweepers on time, late, early (skewed
clock) and concurrently. Then: faults off, idle, sweepers until settled, snapshot, invariants.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.entrypoints.http_request import REPLAYED_HEADER
from aide.entrypoints.metering import REFUNDED_STATUSES
from benchmarks.reliability.faults import SWEEPERS, FaultRates, Faults
from benchmarks.reliability.invariants import Call, Check, ClientLog, Snapshot, check_all
from emulators.stack.stack import LocalStack

PASSWORD = "chaos-password-1"
UNITS = {"tasks.create": 5, "task_groups.create": 5, "users.usage": 0}
# How long a run may stay silent before the stale-task sweeper ends it (its DEFAULT_STALE_AFTER)
# plus a margin: sweeps skewed by this much treat every silent run as dead.
PAST_STALE = timedelta(minutes=3)


@dataclasses.dataclass
class ChaosConfig:
    seed: int = 1
    duration_s: float = 60.0
    users: int = 24
    workers: int = 4
    group_sizes: tuple[int, int] = (10, 40)
    think_s: float = 0.05  # pause between a worker's operations
    # Tasks created per second at most (token bucket): a soak holds a rate the platform can
    # run, otherwise the backlog only grows and "sustained" means nothing.
    task_rate: float = 3.0
    rates: FaultRates = dataclasses.field(default_factory=FaultRates)
    kills: int = 1  # functions host SIGKILLs, spread over the run
    firestore_restarts: int = 1
    sweep_every_s: float = 8.0
    # Sweeps during the run judge staleness by the real clock (True: the real 2-minute bound,
    # as production's scheduler does) or by a clock ahead by PAST_STALE (False: the short run).
    real_sweeper_bound: bool = False
    settle_timeout_s: float = 240.0


@dataclasses.dataclass
class ChaosResult:
    config: ChaosConfig
    checks: list[Check]
    log: ClientLog
    elapsed_s: float
    injected: dict[str, int]
    recoveries: dict[str, list[float]]
    tasks_total: int
    tasks_by_status: dict[str, int]
    settle_s: float
    timeline: list[tuple[datetime, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def latency_ms(self) -> dict[str, float]:
        latencies = sorted(c.latency_s * 1000 for c in self.log.calls if c.status is not None)
        if not latencies:
            return {}
        quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
        return {"p50": quantiles[49], "p95": quantiles[94], "p99": quantiles[98]}


class User:
    def __init__(self, stack: LocalStack, email: str, log: ClientLog, outage: Any) -> None:
        self.stack = stack
        self.log = log
        self.outage = outage
        self.lock = threading.Lock()
        self.tasks: list[str] = []
        self.groups: list[str] = []
        self.http = requests.Session()
        body = self._identity("accounts:signUp", email)
        self.uid = str(body["localId"])
        self.token = str(body["idToken"])

    def _identity(self, path: str, email: str) -> dict[str, Any]:
        response = requests.post(
            f"http://{self.stack.auth_host}/identitytoolkit.googleapis.com/v1/{path}",
            params={"key": "fake-api-key"},
            json={"email": email, "password": PASSWORD, "returnSecureToken": True},
            timeout=60,
        )
        response.raise_for_status()
        return dict(response.json())

    def call(
        self,
        method: str,
        function: str,
        path: str,
        operation: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        log_lock: threading.Lock | None = None,
    ) -> tuple[int | None, dict[str, Any]]:
        outage_before = self.outage.active
        started = time.monotonic()
        status: int | None = None
        error = ""
        payload: dict[str, Any] = {}
        price = units = UNITS.get(operation, 1)
        try:
            response = self.http.request(
                method,
                self.stack.url(function, path),
                json=body,
                headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
                timeout=120,
            )
            status = response.status_code
            if status in REFUNDED_STATUSES or response.headers.get(REPLAYED_HEADER) == "true":
                # Charged one unit, the rest given back — unless the refund itself failed
                # (aide.entrypoints.metering): then the full price stands.
                units = min(units, 1)
            if response.content:
                try:
                    payload = dict(response.json())
                except ValueError:
                    payload = {}
        except requests.RequestException as exc:
            error = type(exc).__name__
            time.sleep(0.5)  # a client backs off when the service does not answer
        latency = time.monotonic() - started
        call = Call(
            uid=self.uid,
            method=method,
            operation=operation,
            status=status,
            units=units,
            max_units=price,
            in_fault_window=outage_before or self.outage.active,
            latency_s=latency,
            error=error,
        )
        with log_lock or self.lock:
            self.log.calls.append(call)
        return status, payload


def _task_spec(rng: random.Random, n: int, provider_faults: float) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "title": f"Chaos task {n}",
        "description": f"Investigate and summarise item {n} of the reliability workload",
    }
    if rng.random() < provider_faults:
        options: dict[str, Any] = rng.choice(
            [
                {"fail_transient": 1, "fail_status": 503, "fail_step": 2},
                {"fail_transient": 2, "fail_status": 429, "retry_after": 0.05},
                {"fail_permanent": True, "fail_step": 2},
                {"latency": 0.4},
            ]
        )
        spec["inputs"] = {"providerOptions": options}
    else:
        spec["inputs"] = {"providerOptions": {"steps": rng.randint(1, 4)}}
    return spec


class Workload:
    def __init__(self, config: ChaosConfig, users: list[User], log: ClientLog) -> None:
        self.config = config
        self.users = users
        self.log = log
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.paused = threading.Event()  # set: workers hold still (a quiet moment)
        self.idle_workers = 0
        self.ops: Counter[str] = Counter()
        self._tokens = float(config.group_sizes[0])
        self._refilled = time.monotonic()
        self._reserved = 0  # size of the group waiting for tokens, if any

    def take(self, tasks: int) -> bool:
        """Room to create `tasks` now under the task rate (else the worker reads instead). A
        group that does not fit yet reserves its size, so single tasks cannot starve it."""
        with self.lock:
            now = time.monotonic()
            cap = max(self.config.group_sizes[1], 10) * 1.0
            self._tokens = min(cap, self._tokens + (now - self._refilled) * self.config.task_rate)
            self._refilled = now
            if tasks > 1 and self._reserved in (0, tasks) and self._tokens < tasks:
                self._reserved = tasks
                return False
            if self._tokens - (self._reserved if tasks != self._reserved else 0) < tasks:
                return False
            self._tokens -= tasks
            if tasks == self._reserved:
                self._reserved = 0
            return True

    def worker(self, index: int) -> None:
        rng = random.Random(self.config.seed * 1000 + index)
        operations = [
            (self.create_task, 30),
            (self.create_group, 6),
            (self.create_twice, 4),
            (self.cancel_task, 6),
            (self.cancel_group, 1),
            (self.retry_task, 4),
            (self.write_knowledge, 4),
            (self.read, 45),
        ]
        choices, weights = zip(*operations, strict=True)
        while not self.stop.is_set():
            if self.paused.is_set():
                with self.lock:
                    self.idle_workers += 1
                while self.paused.is_set() and not self.stop.is_set():
                    time.sleep(0.05)
                with self.lock:
                    self.idle_workers -= 1
                continue
            operation = rng.choices(choices, weights)[0]
            # Users spread over the workers: each user stays under its plan's burst limit.
            operation(rng, self.users[rng.randrange(len(self.users))])
            time.sleep(self.config.think_s)

    @contextmanager
    def quiet(self, timeout_s: float = 60.0) -> Iterator[None]:
        """Workers paused (in-flight requests finished) for the block."""
        self.paused.set()
        deadline = time.monotonic() + timeout_s
        while self.idle_workers < self.config.workers and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield
        finally:
            self.paused.clear()

    def _count(self, name: str) -> None:
        with self.lock:
            self.ops[name] += 1

    def _call(self, user: User, *args: Any, **kwargs: Any) -> tuple[int | None, dict[str, Any]]:
        return user.call(*args, log_lock=self.lock, **kwargs)

    # Operations ----------------------------------------------------------------------------

    def create_task(self, rng: random.Random, user: User) -> None:
        if not self.take(1):
            return self.read(rng, user)
        self._count("single task")
        spec = _task_spec(rng, rng.randint(1, 10**6), self.config.rates.provider_faults)
        status, body = self._call(user, "POST", "tasks", "/", "tasks.create", spec)
        if status == 201:
            self._remember_task(user, body["data"]["task"]["id"])

    def create_twice(self, rng: random.Random, user: User) -> None:
        """The same create sent twice with one Idempotency-Key (a client retrying)."""
        if not self.take(1):
            return self.read(rng, user)
        self._count("create retried with Idempotency-Key")
        spec = _task_spec(rng, rng.randint(1, 10**6), 0.0)
        key = {"Idempotency-Key": uuid.UUID(int=rng.getrandbits(128)).hex}
        first, one = self._call(user, "POST", "tasks", "/", "tasks.create", spec, key)
        second, two = self._call(user, "POST", "tasks", "/", "tasks.create", spec, key)
        for status, body in ((first, one), (second, two)):
            if status == 201:
                self._remember_task(user, body["data"]["task"]["id"])

    def create_group(self, rng: random.Random, user: User) -> None:
        low, high = self.config.group_sizes
        size = self._reserved or rng.randint(low, high)
        if not self.take(size):
            return self.read(rng, user)
        self._count("task group")
        tasks = []
        for n in range(size):
            spec = _task_spec(rng, n, self.config.rates.provider_faults / 2)
            earlier = list(range(max(0, n - 5), n))
            deps = rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2)))
            tasks.append({"ref": f"r{n}", **spec, "dependencies": [f"r{d}" for d in deps]})
        body = {"name": f"chaos group of {size}", "tasks": tasks}
        status, answer = self._call(user, "POST", "task_groups", "/", "task_groups.create", body)
        if status == 201:
            group = answer["data"]["taskGroup"]
            with self.lock:
                self.log.created_groups[group["id"]] = user.uid
                for member in group["tasks"]:
                    self.log.created_tasks[member["id"]] = user.uid
            with user.lock:
                user.groups.append(group["id"])
                user.tasks.extend(member["id"] for member in group["tasks"])

    def _remember_task(self, user: User, task_id: str) -> None:
        with self.lock:
            self.log.created_tasks[task_id] = user.uid
        with user.lock:
            user.tasks.append(task_id)

    def _pick(self, rng: random.Random, user: User, groups: bool = False) -> str | None:
        with user.lock:
            pool = user.groups if groups else user.tasks
            return rng.choice(pool[-50:]) if pool else None

    def cancel_task(self, rng: random.Random, user: User) -> None:
        task_id = self._pick(rng, user)
        if task_id is None:
            return
        self._count("cancel task")
        status, _ = self._call(user, "POST", "tasks", f"/{task_id}/cancel", "tasks.cancel", {})
        if status == 200:
            with self.lock:
                self.log.cancelled_tasks.add(task_id)

    def cancel_group(self, rng: random.Random, user: User) -> None:
        group_id = self._pick(rng, user, groups=True)
        if group_id is None:
            return
        self._count("cancel group")
        self._call(user, "POST", "task_groups", f"/{group_id}/cancel", "task_groups.cancel", {})

    def retry_task(self, rng: random.Random, user: User) -> None:
        self._count("retry failed task")
        status, body = self._call(user, "GET", "tasks", "/?status=failed", "tasks.list", None)
        if status != 200:
            return
        failed = [t["id"] for t in body.get("data", {}).get("tasks", [])]
        if not failed:
            return
        task_id = rng.choice(failed)
        status, _ = self._call(user, "POST", "tasks", f"/{task_id}/retry", "tasks.retry", {})
        if status in (200, 202):
            with self.lock:
                self.log.retried_tasks.add(task_id)

    def write_knowledge(self, rng: random.Random, user: User) -> None:
        self._count("knowledge write")
        n = rng.randint(1, 30)
        body = {
            "entities": [
                {
                    "name": f"component-{n}",
                    "entityType": "component",
                    "observations": [f"observed during chaos round {rng.randint(1, 10**6)}"],
                }
            ]
        }
        self._call(user, "POST", "knowledge", "/entities", "knowledge.create_entities", body)

    def read(self, rng: random.Random, user: User) -> None:
        self._count("read")
        task_id = self._pick(rng, user)
        kind = rng.choice(["list", "get", "events", "group", "usage", "graph"])
        if kind == "list" or task_id is None:
            self._call(user, "GET", "tasks", "/?limit=20", "tasks.list")
        elif kind == "get":
            self._call(user, "GET", "tasks", f"/{task_id}", "tasks.get")
        elif kind == "events":
            self._call(user, "GET", "tasks", f"/{task_id}/events", "tasks.events")
        elif kind == "group":
            group_id = self._pick(rng, user, groups=True)
            if group_id is not None:
                self._call(user, "GET", "task_groups", f"/{group_id}", "task_groups.get")
        elif kind == "usage":
            self._call(user, "GET", "users", "/me/usage", "users.usage")
        else:
            self._call(user, "GET", "knowledge", "/graph", "knowledge.graph")


def _fault_schedule(config: ChaosConfig) -> list[tuple[float, str]]:
    """When each process fault happens, as fractions of the run spread between 15% and 75%."""
    events: list[tuple[float, str]] = []
    for k in range(config.kills):
        events.append((0.15 + 0.6 * (k + 0.5) / max(config.kills, 1), "kill"))
    for k in range(config.firestore_restarts):
        events.append((0.15 + 0.6 * (k + 0.25) / max(config.firestore_restarts, 1), "restart"))
    return sorted(events)


class FaultThread(threading.Thread):
    def __init__(self, config: ChaosConfig, faults: Faults, workload: Workload, db: Any) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.config = config
        self.faults = faults
        self.workload = workload
        self.db = db
        self.rng = random.Random(config.seed)
        self.error: BaseException | None = None
        # Held by every sweep: a Firestore restart waits for sweeps to end and holds them off,
        # so "a quiet moment" means no client request, no run and no scheduled job in flight.
        self.sweeping = threading.Lock()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:
            self.error = error

    def _run(self) -> None:
        next_sweep = time.monotonic() + self.config.sweep_every_s
        while not self.workload.stop.wait(0.2):
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + self.config.sweep_every_s
                with self.sweeping:
                    self._sweep()

    def process_faults(self, started: float) -> None:
        """Runs in the main thread until the load phase ends: the stack's children are started
        with a parent-death signal tied to the thread that starts them, so restarts must come
        from a thread that outlives the run."""
        schedule = _fault_schedule(self.config)
        while not self.workload.stop.wait(0.2):
            elapsed = time.monotonic() - started
            if elapsed >= self.config.duration_s and not schedule:
                return  # a fault delayed by a slow one still happens, under load
            if schedule and elapsed >= schedule[0][0] * self.config.duration_s:
                _, kind = schedule.pop(0)
                if kind == "kill":
                    self._kill()
                else:
                    self._restart_firestore()

    def _sweep(self) -> None:
        if self.config.real_sweeper_bound:
            skew = timedelta(0)
            for name in SWEEPERS:
                self.faults.sweep(name, skew)
            return
        choice = self.rng.choice(["on time", "late", "skewed", "concurrent"])
        if choice == "concurrent":
            self.faults.sweep_concurrently(timedelta(0))
            return
        skew = {"on time": timedelta(0), "late": -PAST_STALE, "skewed": PAST_STALE}[choice]
        for name in SWEEPERS:
            self.faults.sweep(name, skew)

    def _in_progress(self) -> set[str]:
        return {snapshot.id for snapshot in _tasks_in(self.db, "in_progress").stream()}

    def _kill(self) -> None:
        victims = self._in_progress()
        killed_at = time.time()
        self.faults.kill_and_restart_functions()
        # Recovery: every run killed is running again (a new attempt) or has ended.
        threading.Thread(
            target=self._await_recovery, args=(victims, killed_at), daemon=True
        ).start()

    def _await_recovery(self, victims: set[str], killed_at: float) -> None:
        deadline = time.time() + 400
        pending = set(victims)
        while pending and time.time() < deadline:
            if not self.config.real_sweeper_bound:
                with self.sweeping:
                    self.faults.sweep("sweep_stale_tasks", PAST_STALE)
            for task_id in list(pending):
                task = self.db.collection("tasks").document(task_id).get().to_dict() or {}
                started = task.get("startedAt")
                if task.get("status") != "in_progress" or (
                    started is not None and started.timestamp() > killed_at
                ):
                    pending.discard(task_id)
            time.sleep(2)
        if victims:
            self.faults.record_recovery(
                "killed run running again or ended", time.time() - killed_at
            )
        if pending:
            self.faults.record_recovery("killed runs NOT recovered", float(len(pending)))

    def _restart_firestore(self) -> None:
        with self.sweeping, self.workload.quiet():
            self.faults.wait_idle(180)
            seconds = self.faults.restart_firestore()
        self.faults.record_recovery("Firestore restart from export", seconds)


def _tasks_in(db: Any, status: str) -> Any:
    return db.collection("tasks").where(filter=FieldFilter("status", "==", status))


def settle(faults: Faults, db: Any, timeout_s: float) -> float:
    """Faults off; then sweeps (judging by a clock past the stale bound, as the real scheduler
    would after a few minutes) and idle waits until no task is queued or running."""
    started = time.monotonic()
    faults.switch_off()
    while time.monotonic() - started < timeout_s:
        faults.wait_idle(120)
        for name in SWEEPERS:
            faults.sweep(name, PAST_STALE)
        faults.wait_idle(120)
        busy = [
            s.id
            for status in ("queued", "in_progress")
            for s in db.collection("tasks")
            .where(filter=FieldFilter("status", "==", status))
            .limit(1)
            .stream()
        ]
        if not busy:
            break
    return time.monotonic() - started


def snapshot(stack: LocalStack, db: Any, faults: Faults, uids: set[str]) -> Snapshot:
    """What Firestore holds of this run's users (`uids`): the stack may also hold other tests'
    data — even documents edited by hand, as a process-fault test does — which is not judged."""

    def docs(collection: str) -> dict[str, dict[str, Any]]:
        found = {s.id: s.to_dict() or {} for s in db.collection(collection).stream()}
        return {key: doc for key, doc in found.items() if doc.get("userId") in uids}

    tasks = docs("tasks")
    events: dict[str, list[dict[str, Any]]] = {}
    for event in db.collection_group("events").stream():
        parent = event.reference.parent.parent
        if parent is not None and parent.parent.id == "tasks" and parent.id in tasks:
            events.setdefault(parent.id, []).append({"id": event.id, **(event.to_dict() or {})})
    memory: dict[str, list[dict[str, Any]]] = {}
    for node in docs("agent_memory").values():
        if node.get("type") == "reasoning_step":
            memory.setdefault(str(node.get("taskId")), []).append(node)
    groups = docs("task_groups")
    # Agents' pools are shared by every user: only this run's tasks in them are judged.
    agent_pools = [
        {
            **pool,
            **{
                line: [t for t in pool.get(line) or [] if t in tasks]
                for line in ("running", "waiting", "offered")
            },
        }
        for s in db.collection("task_slots").stream()
        if (pool := s.to_dict() or {}).get("agentId")
    ]
    resources = tasks.keys() | groups.keys()
    return Snapshot(
        tasks=tasks,
        events=events,
        memory_steps=memory,
        groups=groups,
        dispatches=list(docs("task_dispatches").values()),
        audit_logs=[
            entry
            for s in db.collection("audit_logs").stream()
            if (entry := s.to_dict() or {}).get("resourceId") in resources
        ],
        quota_counters=list(docs("quota_counters").values()),
        task_slots=[*docs("task_slots").values(), *agent_pools],
        dead_letters=faults.dead_letters(),
    )


@contextmanager
def chaos_stack() -> Iterator[LocalStack]:
    """A stack of its own: Firestore persisted (restartable), Pub/Sub retrying for minutes,
    schedules run only by the fault thread, the hashing embedder (no model on this CPU)."""
    previous = os.environ.get("EMBEDDER")
    os.environ["EMBEDDER"] = "hashing"
    stack = LocalStack(run_schedules=False, persist_firestore=True, pubsub_max_attempts=40)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        if previous is None:
            os.environ.pop("EMBEDDER", None)
        else:
            os.environ["EMBEDDER"] = previous


def run(config: ChaosConfig, stack: LocalStack) -> ChaosResult:
    from emulators.stack.clients import firestore_client

    db = firestore_client(stack.firestore_host, stack.project)
    faults = Faults(stack, config.seed)
    log = ClientLog()
    try:
        run_id = uuid.uuid4().hex[:8]
        users = [
            User(stack, f"chaos-{run_id}-{n}@example.com", log, faults.outage)
            for n in range(config.users)
        ]
        workload = Workload(config, users, log)
        fault_thread = FaultThread(config, faults, workload, db)
        workers = [
            threading.Thread(target=workload.worker, args=(i,), name=f"chaos-worker-{i}")
            for i in range(config.workers)
        ]
        faults.switch_on(config.rates)
        started = time.monotonic()
        fault_thread.start()
        for worker in workers:
            worker.start()
        try:
            fault_thread.process_faults(started)
        finally:
            workload.stop.set()
        for worker in workers:
            worker.join()
        fault_thread.join()
        elapsed = time.monotonic() - started
        if fault_thread.error is not None:
            raise fault_thread.error
        settle_s = settle(faults, db, config.settle_timeout_s)
        state = snapshot(stack, db, faults, {user.uid for user in users})
        counts = faults.push_fault_counts()
        injected = dict(faults.injected)
        injected["Pub/Sub push answered 503"] = int(counts.get("injectedFailures", 0))
        injected["Pub/Sub push answer lost (timeout)"] = int(counts.get("injectedTimeouts", 0))
        triggers = faults.trigger_faults()
        injected["Firestore trigger delivery dropped"] = len(triggers["triggerDeliveriesLost"])
        injected["Firestore trigger delivery failed (host down)"] = len(
            triggers["triggerDeliveriesFailed"]
        )
        provider = sum(
            1
            for task in state.tasks.values()
            if set((task.get("inputs") or {}).get("providerOptions") or {}) - {"steps"}
        )
        injected["tasks with provider faults"] = provider
        for name, count in workload.ops.items():
            injected[f"op: {name}"] = count
        return ChaosResult(
            config=config,
            checks=check_all(state, log),
            log=log,
            elapsed_s=elapsed,
            injected=injected,
            timeline=list(faults.timeline),
            recoveries=dict(faults.recoveries),
            tasks_total=len(state.tasks),
            tasks_by_status=dict(Counter(str(t.get("status")) for t in state.tasks.values())),
            settle_s=settle_s,
        )
    finally:
        faults.close()
        db.close()
