"""Push delivery: POSTs each message to its push subscription's URL from worker threads.

Policy, as Eventarc applies it to Cloud Functions:
- a 2xx answer acknowledges the message;
- with `retry`, any other answer or a connection error is redelivered after an exponential
  backoff (`min_backoff * 2**(attempt-1)`, capped at `max_backoff`) until `max_attempts`, then
  the message is dead-lettered: logged at ERROR and kept for inspection;
- without `retry`, a failure is logged once at ERROR and the message is dropped;
- messages of one subscription sharing an ordering key are delivered one at a time, in publish
  order (the next waits until the previous is acknowledged, dropped or dead-lettered);
- with duplicate delivery on, every message is delivered twice (two independent copies with the
  same message id) so that handlers' idempotency can be exercised;
- injected faults (`PushFaults`, off by default): a share of attempts answered 503 without
  reaching the function, and a share delivered but reported as timed out (the function ran, its
  answer was lost), both then retried as real failures are; seeded, so a run replays.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import heapq
import itertools
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from emulators.json_log import JsonLog
from emulators.pubsub.cloudevent import message_published_request
from emulators.pubsub.messages import PublishedMessage
from emulators.pubsub.push_subscriptions import PushSubscription

# Targets are local functions: an HTTP(S)_PROXY from the environment must not reroute them.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    min_backoff: float = 0.2
    max_backoff: float = 5.0
    request_timeout: float = 60.0

    def backoff(self, failed_attempt: int) -> float:
        return float(min(self.max_backoff, self.min_backoff * 2 ** (failed_attempt - 1)))


@dataclasses.dataclass
class _Delivery:
    subscription: PushSubscription
    message: PublishedMessage
    copy: int
    trace_id: str
    attempt: int = 1

    @property
    def project(self) -> str:
        return self.message.project

    @property
    def order_key(self) -> tuple[str, str] | None:
        if not self.message.ordering_key:
            return None
        return (self.subscription.name, self.message.ordering_key)


@dataclasses.dataclass
class PushFaults:
    """Rates (0..1) of injected push failures, and how many of each were injected."""

    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    seed: int = 0
    injected_failures: int = 0
    injected_timeouts: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(self.failure_rate, self.timeout_rate, self.seed)

    def configure(self, failure_rate: float, timeout_rate: float, seed: int = 0) -> None:
        """New rates and seed; the counts of what was injected so far are kept."""
        for name, rate in (("pushFailureRate", failure_rate), ("pushTimeoutRate", timeout_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        with self._lock:
            self.failure_rate, self.timeout_rate, self.seed = failure_rate, timeout_rate, seed
            self._random = random.Random(seed)

    def roll(self) -> str | None:
        """ "failure", "timeout" or None for one attempt."""
        with self._lock:
            draw = self._random.random()
            if draw < self.failure_rate:
                self.injected_failures += 1
                return "failure"
            if draw < self.failure_rate + self.timeout_rate:
                self.injected_timeouts += 1
                return "timeout"
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            "pushFailureRate": self.failure_rate,
            "pushTimeoutRate": self.timeout_rate,
            "injectedFailures": self.injected_failures,
            "injectedTimeouts": self.injected_timeouts,
        }


@dataclasses.dataclass(frozen=True)
class _Outcome:
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class PushDispatcher:
    def __init__(
        self,
        policy: RetryPolicy,
        workers: int = 4,
        duplicate_delivery: bool = False,
        log: JsonLog | None = None,
    ) -> None:
        self._policy = policy
        self._worker_count = workers
        self._duplicate_delivery = duplicate_delivery
        self.faults = PushFaults()
        self._log = log or JsonLog("pubsub-emulator")
        self._changed = threading.Condition()
        self._ready: collections.deque[_Delivery] = collections.deque()
        self._delayed: list[tuple[float, int, _Delivery]] = []  # heap by due time
        self._sequence = itertools.count()
        # Deliveries waiting behind the head of their ordering key (the head is elsewhere).
        self._ordered: dict[tuple[str, str], collections.deque[_Delivery]] = {}
        self._in_flight = 0
        self._attempts: list[dict[str, Any]] = []
        self._dead_letters: list[dict[str, Any]] = []
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # Lifecycle

    def start(self) -> None:
        with self._changed:
            self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"pubsub-push-{index}", daemon=True)
            for index in range(self._worker_count)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    # Configuration and inspection

    @property
    def duplicate_delivery(self) -> bool:
        return self._duplicate_delivery

    @duplicate_delivery.setter
    def duplicate_delivery(self, enabled: bool) -> None:
        self._duplicate_delivery = enabled

    def attempts(self, project: str) -> list[dict[str, Any]]:
        with self._changed:
            return [dict(entry) for entry in self._attempts if entry["project"] == project]

    def dead_letters(self, project: str) -> list[dict[str, Any]]:
        with self._changed:
            return [dict(entry) for entry in self._dead_letters if entry["project"] == project]

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(self._idle, timeout)

    def clear(self, project: str | None = None) -> None:
        """Forgets queued deliveries and records; deliveries in flight still finish."""

        def keep(delivery: _Delivery) -> bool:
            return project is not None and delivery.project != project

        with self._changed:
            self._ready = collections.deque(d for d in self._ready if keep(d))
            self._delayed = [item for item in self._delayed if keep(item[2])]
            heapq.heapify(self._delayed)
            # Ordering keys of the cleared project restart from scratch: their heads are gone.
            for key in [key for key in self._ordered if project is None or _in(project, key[0])]:
                del self._ordered[key]
            self._attempts = [e for e in self._attempts if project and e["project"] != project]
            self._dead_letters = [
                e for e in self._dead_letters if project and e["project"] != project
            ]
            self._changed.notify_all()

    # Work

    def submit(self, subscription: PushSubscription, message: PublishedMessage) -> None:
        copies = 2 if self._duplicate_delivery else 1
        trace_id = uuid.uuid4().hex
        with self._changed:
            for copy in range(1, copies + 1):
                self._enqueue(_Delivery(subscription, message, copy, trace_id))
            self._changed.notify_all()

    def _enqueue(self, delivery: _Delivery) -> None:
        key = delivery.order_key
        if key is None:
            self._ready.append(delivery)
        elif key in self._ordered:
            self._ordered[key].append(delivery)
        else:
            # An empty queue under the key marks its head as being delivered.
            self._ordered[key] = collections.deque()
            self._ready.append(delivery)

    def _release_key(self, delivery: _Delivery) -> None:
        key = delivery.order_key
        if key is None:
            return
        waiting = self._ordered.get(key)
        if waiting:
            self._ready.append(waiting.popleft())
        else:
            self._ordered.pop(key, None)

    def _idle(self) -> bool:
        return not self._ready and not self._delayed and self._in_flight == 0

    def _next(self) -> _Delivery | None:
        """Blocks until a delivery is due (None when stopping); caller holds the lock."""
        while not self._stopping:
            now = time.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                self._ready.append(heapq.heappop(self._delayed)[2])
            if self._ready:
                self._in_flight += 1
                return self._ready.popleft()
            timeout = self._delayed[0][0] - now if self._delayed else None
            self._changed.wait(timeout)
        return None

    def _work(self) -> None:
        while True:
            with self._changed:
                delivery = self._next()
            if delivery is None:
                return
            try:
                outcome = self._post(delivery)
            except Exception as error:  # a worker must survive anything a delivery throws
                outcome = _Outcome(status=None, error=f"{type(error).__name__}: {error}")
            with self._changed:
                self._in_flight -= 1
                self._settle(delivery, outcome)
                self._changed.notify_all()

    def _post(self, delivery: _Delivery) -> _Outcome:
        fault = self.faults.roll()
        if fault == "failure":
            return _Outcome(status=503, error="injected push failure")
        outcome = self._send(delivery)
        if fault == "timeout":
            return _Outcome(status=None, error="injected timeout (the function's answer was lost)")
        return outcome

    def _send(self, delivery: _Delivery) -> _Outcome:
        headers, body = message_published_request(
            delivery.subscription, delivery.message, delivery.trace_id
        )
        request = urllib.request.Request(
            delivery.subscription.url, data=body, headers=headers, method="POST"
        )
        try:
            with _DIRECT.open(request, timeout=self._policy.request_timeout) as answer:
                answer.read()
                return _Outcome(status=answer.status, error=None)
        except urllib.error.HTTPError as answer:
            detail = answer.read(2000).decode("utf-8", "replace")
            answer.close()
            return _Outcome(status=answer.code, error=detail or answer.reason)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return _Outcome(status=None, error=f"{type(error).__name__}: {reason}")

    def _settle(self, delivery: _Delivery, outcome: _Outcome) -> None:
        """Records an attempt and decides what follows it; caller holds the lock."""
        subscription, message = delivery.subscription, delivery.message
        self._attempts.append(
            {
                "project": delivery.project,
                "subscription": subscription.name,
                "topic": message.topic,
                "messageId": message.message_id,
                "orderingKey": message.ordering_key,
                "copy": delivery.copy,
                "attempt": delivery.attempt,
                "status": outcome.status,
                "ok": outcome.ok,
                "error": outcome.error,
                "time": _now(),
            }
        )
        if outcome.ok:
            self._release_key(delivery)
            return
        context = {
            "subscription": subscription.name,
            "messageId": message.message_id,
            "attempt": delivery.attempt,
            "status": outcome.status,
            "error": outcome.error,
            "logging.googleapis.com/trace": (
                f"projects/{delivery.project}/traces/{delivery.trace_id}"
            ),
        }
        if not subscription.retry:
            self._log.write(
                "ERROR", "push delivery failed; retry is off, message dropped", **context
            )
            self._release_key(delivery)
            return
        if delivery.attempt < self._policy.max_attempts:
            delay = self._policy.backoff(delivery.attempt)
            self._log.write("WARNING", "push delivery failed; will retry", retryIn=delay, **context)
            delivery.attempt += 1
            heapq.heappush(
                self._delayed, (time.monotonic() + delay, next(self._sequence), delivery)
            )
            return
        self._log.write("ERROR", "push delivery failed; message dead-lettered", **context)
        self._dead_letters.append(
            {
                "project": delivery.project,
                "subscription": subscription.name,
                "topic": message.topic,
                "url": subscription.url,
                "messageId": message.message_id,
                "data": base64.b64encode(message.data).decode("ascii"),
                "attributes": dict(message.attributes),
                "orderingKey": message.ordering_key,
                "copy": delivery.copy,
                "attempts": delivery.attempt,
                "lastStatus": outcome.status,
                "lastError": outcome.error,
                "time": _now(),
            }
        )
        self._release_key(delivery)


def _in(project: str, name: str) -> bool:
    return name.startswith(f"projects/{project}/")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
