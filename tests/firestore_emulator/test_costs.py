"""Cost accounting (an extension): billed reads, writes and deletes per project."""

from __future__ import annotations

import json
import urllib.request

import pytest
from google.cloud import firestore

from tests.firestore_emulator.test_listen import Recorder

pytestmark = pytest.mark.ours_only


def _costs(emulator, project):
    return emulator.emulator.costs(project)


def test_costs_follow_firestore_billing(firestore_emulator, fs_client):
    project = fs_client.project
    emulator = firestore_emulator.emulator
    items = fs_client.collection("items")
    for i in range(3):
        items.document(f"d{i}").set({"i": i})
    assert _costs(firestore_emulator, project) == {"reads": 0, "writes": 3, "deletes": 0}

    items.document("d0").get()
    items.document("missing").get()  # missing documents are billed too
    assert _costs(firestore_emulator, project)["reads"] == 2

    emulator.reset_costs(project)
    assert len(list(items.stream())) == 3  # n results: n reads
    list(items.where(filter=firestore.FieldFilter("i", ">", 99)).stream())  # empty: 1 read
    items.count().get()  # aggregation: 1 read per 1000 index entries, minimum 1
    assert _costs(firestore_emulator, project)["reads"] == 5

    emulator.reset_costs(project)
    batch = fs_client.batch()
    batch.delete(items.document("d1"))
    batch.update(items.document("d2"), {"i": firestore.Increment(1)})
    batch.commit()
    assert _costs(firestore_emulator, project) == {"reads": 0, "writes": 1, "deletes": 1}


def test_listener_reads_are_documents_delivered(firestore_emulator, fs_client):
    project = fs_client.project
    items = fs_client.collection("listened")
    items.document("a").set({"v": 1})
    items.document("b").set({"v": 1})
    firestore_emulator.emulator.reset_costs(project)
    recorder = Recorder()
    watch = items.on_snapshot(recorder)
    try:
        recorder.wait_for(1)
        items.document("a").update({"v": 2})
        recorder.wait_for(2)
    finally:
        watch.unsubscribe()
    assert _costs(firestore_emulator, project)["reads"] == 3  # 2 initial + 1 modified


def test_costs_over_http_admin_api(firestore_emulator, fs_client):
    fs_client.collection("c").document("d").set({})
    url = f"{firestore_emulator.admin_url}/emulator/v1/projects/{fs_client.project}/costs"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert json.load(response) == {"reads": 0, "writes": 1, "deletes": 0}
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).read()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert json.load(response) == {"reads": 0, "writes": 0, "deletes": 0}
