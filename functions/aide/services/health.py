"""Health: version and reachability of Firestore, Pub/Sub and Storage, each with its latency.

Checks run concurrently under one deadline, so a hung dependency costs the caller at most
`timeout` seconds and is reported as failed rather than hanging the health endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from aide import config
from aide.adapters.repositories import PlansRepository
from aide.domain.health import HealthChecks, HealthReport, ServiceCheck
from aide.domain.system_config import PLANS_DOCUMENT_ID

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient
    from google.cloud.storage import Client as StorageClient

DEFAULT_TIMEOUT_SECONDS = 3.0

# A check raises when its service is unreachable; its argument is the time it may take.
# Checks disable client retries: a retry loop would outlive the deadline in a worker thread.
Check = Callable[[float], None]


def firestore_check(db: FirestoreClient) -> Check:
    def check(timeout: float) -> None:
        PlansRepository(db).ref(PLANS_DOCUMENT_ID).get(timeout=timeout, retry=None)

    return check


def pubsub_check(publisher: PublisherClient, project: str) -> Check:
    def check(timeout: float) -> None:
        pager = publisher.list_topics(
            request={"project": f"projects/{project}", "page_size": 1},
            timeout=timeout,
            retry=None,
        )
        next(iter(pager), None)

    return check


def storage_check(client: StorageClient, bucket: str) -> Check:
    def check(timeout: float) -> None:
        # A missing bucket still proves the service answers; only transport errors fail.
        client.lookup_bucket(bucket, timeout=timeout, retry=None)

    return check


def _timed(check: Check, timeout: float) -> ServiceCheck:
    started = time.perf_counter()
    try:
        check(timeout)
    except Exception as error:
        return ServiceCheck(
            ok=False,
            latency_ms=_elapsed_ms(started),
            error=f"{type(error).__name__}: {error}"[:300],
        )
    return ServiceCheck(ok=True, latency_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def run_checks(
    checks: Mapping[str, Check], timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> dict[str, ServiceCheck]:
    executor = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health")
    started = time.perf_counter()
    futures: dict[str, Future[ServiceCheck]] = {
        name: executor.submit(_timed, check, timeout) for name, check in checks.items()
    }
    # Small grace beyond the per-check timeout for the client's own bookkeeping.
    wait(futures.values(), timeout=timeout + 0.5)
    # Do not wait for a hung check; its thread ends when its own timeout fires.
    executor.shutdown(wait=False, cancel_futures=True)
    results: dict[str, ServiceCheck] = {}
    for name, future in futures.items():
        if future.done() and not future.cancelled():
            results[name] = future.result()
        else:
            results[name] = ServiceCheck(
                ok=False, latency_ms=_elapsed_ms(started), error="timed out"
            )
    return results


def check_health(
    *,
    firestore: Check,
    pubsub: Check,
    storage: Check,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HealthReport:
    results = run_checks({"firestore": firestore, "pubsub": pubsub, "storage": storage}, timeout)
    return HealthReport(version=config.VERSION, checks=HealthChecks(**results))
