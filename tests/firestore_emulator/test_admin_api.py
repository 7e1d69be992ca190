"""The admin HTTP API (an extension beyond clearing): index enforcement, triggers, config,
flush, costs and clearing, driven over HTTP as other processes drive it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from google.api_core import exceptions
from google.cloud import firestore

pytestmark = pytest.mark.ours_only


def _call(url: str, method: str = "GET", body: object | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def test_root_says_ok(firestore_emulator):
    assert _call(firestore_emulator.admin_url + "/") == (200, "Ok")


def test_index_enforcement_per_project(firestore_emulator, fs_client):
    base = f"{firestore_emulator.admin_url}/emulator/v1/projects/{fs_client.project}"
    tasks = fs_client.collection("tasks")
    tasks.document("t").set({"owner": "u", "due": 1})
    query = tasks.where(filter=firestore.FieldFilter("owner", "==", "u")).order_by("due")
    assert len(list(query.stream())) == 1  # enforcement off: any query runs

    assert _call(base + "/indexes", "PUT", {"indexes": [], "fieldOverrides": []})[0] == 200
    with pytest.raises(exceptions.FailedPrecondition) as failure:
        list(query.stream())
    assert "index" in str(failure.value).lower()

    composite = {
        "collectionGroup": "tasks",
        "queryScope": "COLLECTION",
        "fields": [
            {"fieldPath": "owner", "order": "ASCENDING"},
            {"fieldPath": "due", "order": "ASCENDING"},
        ],
    }
    assert _call(base + "/indexes", "PUT", {"indexes": [composite]})[0] == 200
    assert len(list(query.stream())) == 1

    assert _call(base + "/indexes", "PUT", {"enforce": False})[0] == 200


def test_triggers_config_flush_and_clear_over_http(firestore_emulator, fs_client):
    admin = firestore_emulator.admin_url
    base = f"{admin}/emulator/v1/projects/{fs_client.project}"
    trigger = {
        "name": "onTask",
        "eventType": "google.cloud.firestore.document.v1.written",
        "document": "tasks/{taskId}",
        "database": "(default)",
        "url": "http://127.0.0.1:9/unreachable",
    }
    status, body = _call(base + "/triggers", "PUT", {"triggers": [trigger]})
    assert status == 200 and body == {"triggers": [trigger]}
    assert _call(base + "/triggers", "PUT", {"triggers": [{"eventType": "nope"}]})[0] == 400
    assert (
        _call(admin + "/emulator/v1/config", "PUT", {"duplicateTriggerDelivery": False})[0] == 200
    )

    fs_client.collection("tasks").document("t").set({"v": 1})  # delivery fails: logged only
    assert _call(admin + "/emulator/v1/triggers:flush", "POST") == (200, {})
    assert _call(base + "/triggers", "PUT", {"triggers": []})[1] == {"triggers": []}

    documents = f"{base}/databases/(default)/documents"
    assert _call(documents, "DELETE")[0] == 200
    assert not fs_client.collection("tasks").document("t").get().exists
    assert _call(admin + "/emulator/v1/nothing-here")[0] == 404


def test_indexes_file_enforces_for_every_project(tmp_path, monkeypatch):
    from emulators.firestore import FirestoreEmulator

    indexes = tmp_path / "firestore.indexes.json"
    indexes.write_text(json.dumps({"indexes": [], "fieldOverrides": []}))
    emulator = FirestoreEmulator(indexes_path=indexes).start()
    try:
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.address)
        client = firestore.Client(project="indexed")
        things = client.collection("things")
        things.document("a").set({"x": 1, "y": 2})
        assert len(list(things.where(filter=firestore.FieldFilter("x", "==", 1)).stream())) == 1
        needs_composite = things.where(filter=firestore.FieldFilter("x", "==", 1)).order_by("y")
        with pytest.raises(exceptions.FailedPrecondition):
            list(needs_composite.stream())
        client.close()
    finally:
        emulator.stop()


def test_unimplemented_methods(firestore_emulator):
    import grpc

    with grpc.insecure_channel(firestore_emulator.address) as channel:
        call = channel.unary_unary("/google.firestore.v1.Firestore/PartitionQuery")
        with pytest.raises(grpc.RpcError) as failure:
            call(b"", timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_fs_indexed_client_enforces_the_repository_indexes(fs_indexed_client):
    things = fs_indexed_client.collection("not_declared_anywhere")
    things.document("a").set({"x": 1, "y": 2})
    query = things.where(filter=firestore.FieldFilter("x", "==", 1)).order_by("y")
    with pytest.raises(exceptions.FailedPrecondition):
        list(query.stream())
