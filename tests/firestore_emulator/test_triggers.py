"""Document-change events (an extension): CloudEvents POSTed exactly as Eventarc delivers
them to Cloud Functions, checked by a real HTTP receiver and by firebase_functions itself."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.cloud import firestore
from google.events.cloud.firestore import DocumentEventData

pytestmark = pytest.mark.ours_only

PREFIX = "google.cloud.firestore.document.v1."


class Receiver:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.events.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def emulator(firestore_emulator, fs_client):
    emulator = firestore_emulator.emulator
    yield emulator
    emulator.set_triggers(fs_client.project, [])
    emulator.set_duplicate_delivery(False)


def _trigger(receiver, kind, document, path):
    return {
        "name": f"on_{kind}",
        "eventType": PREFIX + kind,
        "document": document,
        "database": "(default)",
        "url": receiver.url(path),
    }


def test_events_match_eventarc(emulator, fs_client, receiver):
    project = fs_client.project
    emulator.set_triggers(
        project,
        [
            _trigger(receiver, "written", "tasks/{taskId}", "/written"),
            _trigger(receiver, "updated", "tasks/{taskId}", "/updated"),
            _trigger(receiver, "deleted", "users/{uid}/{rest=**}", "/deleted"),
        ],
    )
    ref = fs_client.collection("tasks").document("t1")
    ref.set({"title": "a", "meta": {"n": 1, "keep": True}})
    ref.set({"title": "a", "meta": {"n": 1, "keep": True}})  # no-op: no event
    ref.update({"meta.n": 2, "extra": 1})
    fs_client.collection("users").document("u").collection("e").document("x").set({})
    fs_client.collection("users").document("u").collection("e").document("x").delete()
    fs_client.collection("other").document("o").set({})  # matches no trigger
    assert emulator.flush_triggers(timeout=30)

    paths = [path for path, _, _ in receiver.events]
    assert paths == ["/written", "/written", "/updated", "/deleted"]

    _, headers, body = receiver.events[0]
    assert headers["Content-Type"] == "application/protobuf"
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-type"] == PREFIX + "written"
    source = f"//firestore.googleapis.com/projects/{project}/databases/(default)"
    assert headers["ce-source"] == source
    assert headers["ce-subject"] == "documents/tasks/t1"
    assert headers["ce-document"] == "tasks/t1"
    assert headers["ce-project"] == project
    assert headers["ce-database"] == "(default)"
    assert headers["ce-namespace"] == "(default)"
    assert headers["ce-location"]
    assert headers["ce-time"].endswith("Z")
    created = DocumentEventData.deserialize(body)
    assert created.value.fields["title"].string_value == "a"
    assert not created.old_value.name

    _, update_headers, update_body = receiver.events[2]
    assert update_headers["ce-type"] == PREFIX + "updated"
    assert update_headers["ce-id"] != headers["ce-id"]
    updated = DocumentEventData.deserialize(update_body)
    assert updated.old_value.fields["meta"].map_value.fields["n"].integer_value == 1
    assert updated.value.fields["meta"].map_value.fields["n"].integer_value == 2
    assert sorted(updated.update_mask.field_paths) == ["extra", "meta.n"]

    _, delete_headers, delete_body = receiver.events[3]
    assert delete_headers["ce-document"] == "users/u/e/x"
    deleted = DocumentEventData.deserialize(delete_body)
    assert deleted.old_value.name.endswith("/users/u/e/x") and not deleted.value.name


def test_duplicate_delivery_switch(emulator, fs_client, receiver):
    emulator.set_triggers(
        fs_client.project, [_trigger(receiver, "created", "jobs/{id}", "/created")]
    )
    emulator.set_duplicate_delivery(True)
    fs_client.collection("jobs").document("j").set({"x": 1})
    assert emulator.flush_triggers(timeout=30)
    assert len(receiver.events) == 2
    assert receiver.events[0][1]["ce-id"] == receiver.events[1][1]["ce-id"]


def test_failed_delivery_is_logged_not_retried(emulator, fs_client, receiver, capfd):
    receiver.status = 500
    emulator.set_triggers(fs_client.project, [_trigger(receiver, "written", "f/{id}", "/f")])
    fs_client.collection("f").document("x").set({"v": 1})
    assert emulator.flush_triggers(timeout=30)
    assert len(receiver.events) == 1
    assert '"severity": "ERROR"' in capfd.readouterr().err
    failed = emulator.trigger_faults()["triggerDeliveriesFailed"]
    assert failed[-1]["document"] == "f/x"
    assert failed[-1]["trigger"] == "on_written"


def test_firebase_functions_handler_accepts_the_event(emulator, fs_client, receiver):
    import firebase_admin
    from cloudevents.http import from_http
    from firebase_functions import firestore_fn
    from google.auth.credentials import AnonymousCredentials

    emulator.set_triggers(
        fs_client.project, [_trigger(receiver, "written", "orders/{orderId}", "/w")]
    )
    ref = fs_client.collection("orders").document("o1")
    ref.set({"total": 5})
    ref.update({"total": firestore.Increment(1)})
    assert emulator.flush_triggers(timeout=30)
    seen = []

    @firestore_fn.on_document_written(document="orders/{orderId}")
    def handler(event):
        seen.append(
            (
                event.params["orderId"],
                event.data.before.to_dict() if event.data.before else None,
                event.data.after.to_dict(),
            )
        )

    class Anonymous(firebase_admin.credentials.Base):
        def get_credential(self):
            return AnonymousCredentials()

    app = None
    if firebase_admin._DEFAULT_APP_NAME not in firebase_admin._apps:
        app = firebase_admin.initialize_app(Anonymous(), {"projectId": fs_client.project})
    try:
        for _, headers, body in receiver.events:
            handler(from_http(headers, body))
    finally:
        if app is not None:
            firebase_admin.delete_app(app)
    assert seen == [("o1", None, {"total": 5}), ("o1", {"total": 5}, {"total": 6})]

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
