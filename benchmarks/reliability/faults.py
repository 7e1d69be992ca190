"""The fault controls of the local platform, driven from outside as an operator would.

Everything here talks to a running `LocalStack` (started with `persist_firestore=True` so the
Firestore restart can reload its export): the emulators' admin routes for injected push
failures, lost trigger deliveries and duplicate delivery; the functions host's scheduler route
for sweeps run on time, late, early (a skewed clock), twice or concurrently; and the stack for
SIGKILL + restart of the functions host and restart of Firestore from its export.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from emulators.stack.stack import LocalStack

SWEEPERS = ("sweep_task_dispatches", "sweep_stale_tasks")


@dataclasses.dataclass
class FaultRates:
    push_failure: float = 0.05  # Pub/Sub pushes answered 503 before reaching the function
    push_timeout: float = 0.03  # pushes delivered whose answer is lost (then redelivered)
    trigger_loss: float = 0.05  # Firestore trigger deliveries dropped
    duplicate_delivery: bool = True  # every trigger and push delivered twice
    provider_faults: float = 0.2  # tasks whose provider errors (transient or permanent)


class Outage:
    """Set while an injected outage lasts: a client error then is expected, not a bug."""

    def __init__(self) -> None:
        self._depth = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Outage:
        with self._lock:
            self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1

    @property
    def active(self) -> bool:
        return self._depth > 0


class Faults:
    def __init__(self, stack: LocalStack, seed: int) -> None:
        self.stack = stack
        self.seed = seed
        self.http = requests.Session()
        self.injected: Counter[str] = Counter()
        # When each process fault and sweep began and ended (UTC), to line violations up with.
        self.timeline: list[tuple[datetime, str]] = []
        self.recoveries: dict[str, list[float]] = {}
        self.outage = Outage()
        self.rates: FaultRates | None = None
        # Trigger deliveries dropped or failed in Firestore processes since replaced.
        self._trigger_history: dict[str, list[dict[str, Any]]] = {
            "triggerDeliveriesLost": [],
            "triggerDeliveriesFailed": [],
        }
        self._lock = threading.Lock()

    # Emulator switches ----------------------------------------------------------------------

    def _put(self, base: str | None, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert base is not None, "the fault controls need this project's emulators"
        response = self.http.put(f"{base}/emulator/v1{path}", json=body, timeout=30)
        response.raise_for_status()
        return dict(response.json() or {})

    def _get(self, base: str | None, path: str) -> dict[str, Any]:
        assert base is not None
        response = self.http.get(f"{base}/emulator/v1{path}", timeout=30)
        response.raise_for_status()
        return dict(response.json() or {})

    def switch_on(self, rates: FaultRates) -> None:
        self.rates = rates
        self._put(
            self.stack.pubsub_admin_url,
            "/faults",
            {
                "pushFailureRate": rates.push_failure,
                "pushTimeoutRate": rates.push_timeout,
                "faultSeed": self.seed,
            },
        )
        self._put(
            self.stack.firestore_admin_url,
            "/faults",
            {"triggerLossRate": rates.trigger_loss, "triggerLossSeed": self.seed},
        )
        self.set_duplicate_delivery(rates.duplicate_delivery)

    def switch_off(self) -> None:
        self.rates = None
        self._put(self.stack.pubsub_admin_url, "/faults", {"pushFailureRate": 0})
        self._put(self.stack.firestore_admin_url, "/faults", {"triggerLossRate": 0})
        self.set_duplicate_delivery(False)

    def set_duplicate_delivery(self, enabled: bool) -> None:
        self._put(self.stack.pubsub_admin_url, "/config", {"duplicateDelivery": enabled})
        self._put(self.stack.firestore_admin_url, "/config", {"duplicateTriggerDelivery": enabled})

    def trigger_faults(self) -> dict[str, list[dict[str, Any]]]:
        """Trigger deliveries dropped on purpose (`triggerDeliveriesLost`) and failed
        (`triggerDeliveriesFailed`) over the whole run, Firestore restarts included."""
        now = self._get(self.stack.firestore_admin_url, "/faults")
        return {key: [*old, *now[key]] for key, old in self._trigger_history.items()}

    def push_fault_counts(self) -> dict[str, Any]:
        return self._get(self.stack.pubsub_admin_url, "/faults")

    def dead_letters(self) -> list[dict[str, Any]]:
        path = f"/projects/{self.stack.project}/deadLetters"
        return list(self._get(self.stack.pubsub_admin_url, path)["deadLetters"])

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """No trigger delivery and no push pending or in flight (so no run in progress)."""
        base_fs, base_ps = self.stack.firestore_admin_url, self.stack.pubsub_admin_url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.http.post(f"{base_fs}/emulator/v1/triggers:flush", timeout=timeout + 30)
            answer = self.http.post(
                f"{base_ps}/emulator/v1/idle:wait", params={"timeout": 10}, timeout=60
            )
            self.http.post(f"{base_fs}/emulator/v1/triggers:flush", timeout=timeout + 30)
            if answer.status_code == 200:
                return True
        return False

    def mark(self, what: str) -> None:
        with self._lock:
            self.timeline.append((datetime.now(UTC), what))

    # Scheduler ------------------------------------------------------------------------------

    def sweep(self, function: str, skew: timedelta = timedelta(0)) -> int:
        """Run a sweeper now as if scheduled at now + skew (negative: late; positive: a clock
        ahead of the real one). Returns the HTTP status of the run."""
        when = (datetime.now(UTC) + skew).isoformat().replace("+00:00", "Z")
        kind = (
            "sweep on time"
            if not skew
            else ("sweep late" if skew < timedelta(0) else "sweep skewed")
        )
        with self._lock:
            self.injected[kind] += 1
        self.mark(f"{kind} {function} start")
        try:
            response = self.http.post(
                f"{self.stack.functions_base_url}/__/scheduler/{function}:run",
                params={"scheduleTime": when},
                timeout=300,
            )
        except requests.RequestException:
            return 0
        finally:
            self.mark(f"{kind} {function} end")
        return response.status_code

    def sweep_concurrently(self, skew: timedelta = timedelta(0), copies: int = 2) -> None:
        """Every sweeper `copies` times at once (a scheduler that fired twice)."""
        with self._lock:
            self.injected["sweep concurrent"] += 1
        threads = [
            threading.Thread(target=self.sweep, args=(name, skew))
            for name in SWEEPERS
            for _ in range(copies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Process faults -------------------------------------------------------------------------

    def kill_and_restart_functions(self, down_s: float = 1.0) -> float:
        """SIGKILL the functions host (runs die mid-step), restart it; seconds it was away."""
        with self.outage:
            started = time.monotonic()
            self.mark("functions host SIGKILL")
            self.stack.kill_functions()
            self.injected["functions host SIGKILL"] += 1
            time.sleep(down_s)
            self.stack.restart_functions()
            self.mark("functions host restarted")
            return time.monotonic() - started

    def restart_firestore(self) -> float:
        """Restart Firestore from its export; the fault switches (process state) are applied
        again and what its trigger log held is kept."""
        with self.outage:
            self._trigger_history = self.trigger_faults()
            self.mark("Firestore stopping (export)")
            seconds = self.stack.restart_firestore()
            self.mark("Firestore restarted from export")
            self.injected["Firestore restart from export"] += 1
            if self.rates is not None:
                self.switch_on(self.rates)
            return seconds

    def record_recovery(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.recoveries.setdefault(kind, []).append(seconds)

    def close(self) -> None:
        self.http.close()
