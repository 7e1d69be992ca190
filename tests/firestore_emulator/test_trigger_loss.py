"""Injected loss of trigger deliveries (fault injection): a seeded share of events, of every
trigger or only of the named ones, is dropped and listed; the rest is delivered as usual."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.firestore_emulator.test_triggers import (
    Receiver,
    _trigger,
    emulator,  # noqa: F401  (fixtures)
    receiver,  # noqa: F401
)

pytestmark = pytest.mark.ours_only


def _config(admin_url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{admin_url}/emulator/v1/faults",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="PUT" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def test_lost_share_of_one_trigger_only(emulator, fs_client, receiver: Receiver) -> None:
    emulator.set_triggers(
        fs_client.project,
        [
            _trigger(receiver, "created", "jobs/{id}", "/lossy"),
            _trigger(receiver, "written", "jobs/{id}", "/kept"),
        ],
    )
    lost_before = len(_config(emulator.admin_url)["triggerDeliveriesLost"])
    _config(
        emulator.admin_url,
        {"triggerLossRate": 0.5, "triggerLossSeed": 7, "triggerLossOnly": ["on_created"]},
    )
    try:
        for n in range(40):
            fs_client.collection("jobs").document(f"j{n}").set({"n": n})
        assert emulator.flush_triggers(timeout=30)
        config = _config(emulator.admin_url)
    finally:
        _config(emulator.admin_url, {"triggerLossRate": 0})
    lost = config["triggerDeliveriesLost"][lost_before:]
    delivered = [path for path, _, _ in receiver.events]
    assert delivered.count("/kept") == 40  # the other trigger loses nothing
    assert 5 < len(lost) < 35  # about half, seeded
    assert delivered.count("/lossy") + len(lost) == 40
    assert {entry["trigger"] for entry in lost} == {"on_created"}
    assert all(entry["document"].startswith("jobs/j") for entry in lost)
    assert config["triggerLossRate"] == 0.5

    fs_client.collection("jobs").document("after").set({"n": 0})
    assert emulator.flush_triggers(timeout=30)
    assert [path for path, _, _ in receiver.events].count("/lossy") == delivered.count("/lossy") + 1


def test_loss_rate_out_of_range_is_refused(emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        _config(emulator.admin_url, {"triggerLossRate": 2})
    assert refused.value.code == 400
