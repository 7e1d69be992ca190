"""run_once against the Firestore emulator: an event's effect is applied exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from aide.adapters.processed_events import marker_ref, run_once, was_processed
from aide.domain.timestamps import utc_now


def _increment(db: Any, counter_id: str) -> Any:
    ref = db.collection("counters").document(counter_id)

    def effect(uow: Any) -> int:
        snapshot = ref.get(transaction=uow.transaction)
        value = (snapshot.to_dict() or {}).get("value", 0) + 1 if snapshot.exists else 1
        uow.transaction.set(ref, {"value": value})
        return int(value)

    return effect


def _counter(db: Any, counter_id: str) -> int:
    snapshot = db.collection("counters").document(counter_id).get()
    return int((snapshot.to_dict() or {}).get("value", 0))


def test_same_event_twice_applies_the_effect_once(fs_client: Any) -> None:
    first = run_once(fs_client, "evt-1", _increment(fs_client, "c"), consumer="handler")
    second = run_once(fs_client, "evt-1", _increment(fs_client, "c"), consumer="handler")

    assert (first.ran, first.value) == (True, 1)
    assert (second.ran, second.value) == (False, None)
    assert _counter(fs_client, "c") == 1
    assert was_processed(fs_client, "evt-1", "handler")


def test_marker_records_the_event_and_expires(fs_client: Any) -> None:
    before = utc_now()
    run_once(
        fs_client,
        "projects/p/evt/2",
        _increment(fs_client, "c"),
        consumer="h",
        ttl=timedelta(hours=1),
    )
    marker = marker_ref(fs_client, "projects/p/evt/2", "h").get().to_dict()

    assert marker["eventId"] == "projects/p/evt/2"
    assert marker["consumer"] == "h"
    assert marker["processedAt"] >= before - timedelta(seconds=5)
    assert marker["expiresAt"] - marker["processedAt"] == timedelta(hours=1)


def test_other_consumers_and_events_are_independent(fs_client: Any) -> None:
    assert run_once(fs_client, "evt", _increment(fs_client, "c"), consumer="a").ran
    assert run_once(fs_client, "evt", _increment(fs_client, "c"), consumer="b").ran
    assert run_once(fs_client, "evt-other", _increment(fs_client, "c"), consumer="a").ran
    assert _counter(fs_client, "c") == 3


def test_a_failed_effect_leaves_no_marker_so_a_redelivery_runs_it(fs_client: Any) -> None:
    def failing(uow: Any) -> None:
        uow.transaction.set(fs_client.collection("counters").document("c"), {"value": 99})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_once(fs_client, "evt", failing, consumer="h")

    assert not was_processed(fs_client, "evt", "h")
    assert _counter(fs_client, "c") == 0
    assert run_once(fs_client, "evt", _increment(fs_client, "c"), consumer="h").ran
    assert _counter(fs_client, "c") == 1


def test_concurrent_deliveries_apply_the_effect_once(fs_client: Any) -> None:
    deliveries = 8
    barrier = threading.Barrier(deliveries)
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def deliver() -> None:
        try:
            barrier.wait(timeout=30)
            result = run_once(fs_client, "evt-concurrent", _increment(fs_client, "c"), consumer="h")
            with lock:
                outcomes.append(result.ran)
        except BaseException as error:  # collected and asserted below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert sorted(outcomes) == [False] * (deliveries - 1) + [True]
    assert _counter(fs_client, "c") == 1


def test_event_id_is_required(fs_client: Any) -> None:
    with pytest.raises(ValueError):
        run_once(fs_client, "", _increment(fs_client, "c"))
