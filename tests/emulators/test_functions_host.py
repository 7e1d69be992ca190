"""The functions host against a sample source directory: discovery, HTTP routing (sub-paths,
methods, CORS preflight, unknown functions), CloudEvent dispatch in binary and structured
mode, crash handling, and running a scheduled function now.

The host runs as its own process (python -m emulators.functions_host), as the stack runs it.
"""

from __future__ import annotations

import base64
import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.stack.ports import free_port
from emulators.stack.processes import ManagedProcess
from emulators.stack.stack import REPO_ROOT
from tests.firestore_emulator.waiting import wait_until

PROJECT = "demo-sample"
REGION = "us-central1"

SAMPLE_MAIN = textwrap.dedent(
    '''
    """A sample functions source: each event function records what it received in OUT_DIR."""
    import json
    import os
    import pathlib

    from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn

    OUT = pathlib.Path(os.environ["SAMPLE_OUT_DIR"])


    def record(name, payload):
        (OUT / f"{name}.json").write_text(json.dumps(payload, default=str))


    @https_fn.on_request()
    def echo(request: https_fn.Request) -> https_fn.Response:
        body = {
            "method": request.method,
            "path": request.path,
            "scriptRoot": request.script_root,
            "args": request.args.to_dict(),
            "body": request.get_data(as_text=True),
            "emulator": os.environ.get("FUNCTIONS_EMULATOR"),
            "project": os.environ.get("GCLOUD_PROJECT"),
            "greeting": os.environ.get("SAMPLE_GREETING"),
            "quoted": os.environ.get("SAMPLE_QUOTED"),
        }
        return https_fn.Response(json.dumps(body), status=200, mimetype="application/json")


    @https_fn.on_request(
        cors=options.CorsOptions(cors_origins="https://app.example", cors_methods=["get", "post"])
    )
    def with_cors(request: https_fn.Request) -> https_fn.Response:
        return https_fn.Response("cors ok")


    @https_fn.on_request()
    def boom(request: https_fn.Request) -> https_fn.Response:
        raise RuntimeError("sample failure")


    @https_fn.on_request()
    def stream(request: https_fn.Request) -> https_fn.Response:
        # Server-sent events: the second event is produced only once the client has written
        # the gate file, i.e. after it received the first one (proof that nothing buffers).
        gate = OUT / request.args["gate"]

        def events():
            import time

            yield b"event: first\\ndata: 1\\n\\n"
            deadline = time.monotonic() + 30
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            yield b"event: second\\ndata: 2\\n\\n"

        return https_fn.Response(events(), mimetype="text/event-stream")


    @firestore_fn.on_document_created(document="things/{thingId}")
    def on_thing_created(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
        record("on_thing_created", {
            "id": event.id,
            "params": event.params,
            "document": event.document,
            "data": event.data.to_dict() if event.data else None,
        })


    @pubsub_fn.on_message_published(topic="things", retry=True)
    def on_thing_message(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
        message = event.data.message
        record("on_thing_message", {
            "id": event.id,
            "messageId": message.message_id,
            "json": message.json,
            "attributes": message.attributes,
            "subscription": event.data.subscription,
        })


    @scheduler_fn.on_schedule(schedule="every 24 hours")
    def nightly(event: scheduler_fn.ScheduledEvent) -> None:
        record("nightly", {"job": event.job_name})
    '''
)


class SampleHost:
    def __init__(self, process: ManagedProcess, port: int, out_dir: Path) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.out_dir = out_dir

    def url(self, name: str, path: str = "") -> str:
        return f"{self.base}/{PROJECT}/{REGION}/{name}{path}"

    def recorded(self, name: str) -> dict[str, Any]:
        path = self.out_dir / f"{name}.json"
        wait_until(path.exists, timeout=30)
        return dict(json.loads(path.read_text()))

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.process.output():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleHost]:
    source = tmp_path_factory.mktemp("sample-source")
    out_dir = tmp_path_factory.mktemp("sample-out")
    (source / "main.py").write_text(SAMPLE_MAIN)
    (source / "requirements.txt").write_text("firebase-functions\n")
    (source / ".env").write_text(
        "# deployed values\nSAMPLE_GREETING=hello\nSAMPLE_QUOTED='a # b'\n"
    )
    (source / ".env.local").write_text("SAMPLE_GREETING=hello from .env.local  # local only\n")
    port = free_port()
    argv = [sys.executable, "-m", "emulators.functions_host", "--source", str(source)]
    argv += ["--project", PROJECT, "--region", REGION, "--port", str(port), "--no-schedules"]
    # The Firestore trigger handler builds a Firestore client; an emulator host (never dialled
    # here) keeps that offline and credential-free.
    argv += ["--firestore", "127.0.0.1:9"]
    env = {
        **_clean_env(),
        "SAMPLE_OUT_DIR": str(out_dir),
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = ManagedProcess(
        "functions", argv, REPO_ROOT, env, r"Functions host ready on", port=port
    )
    process.start()
    try:
        process.wait_ready(120)
        yield SampleHost(process, port, out_dir)
    finally:
        process.stop()


def _clean_env() -> dict[str, str]:
    import os

    emulator_vars = {"FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"}
    return {k: v for k, v in os.environ.items() if k not in emulator_vars}


def test_ready_line_counts_the_discovered_functions(host: SampleHost) -> None:
    assert any(
        "Functions host ready on" in line and "(7 functions)" in line
        for line in host.process.output()
    )


def test_lists_every_discovered_function_with_its_trigger(host: SampleHost) -> None:
    listing = requests.get(f"{host.base}/__/functions", timeout=30).json()
    by_name = {f["name"]: f for f in listing["functions"]}
    assert set(by_name) == {
        "echo",
        "with_cors",
        "boom",
        "stream",
        "on_thing_created",
        "on_thing_message",
        "nightly",
    }
    assert by_name["echo"]["trigger"] == "https"
    assert by_name["echo"]["path"] == f"/{PROJECT}/{REGION}/echo"
    assert by_name["on_thing_created"]["eventType"] == "google.cloud.firestore.document.v1.created"
    assert by_name["on_thing_created"]["eventFilterPathPatterns"] == {
        "document": "things/{thingId}"
    }
    assert by_name["on_thing_message"]["eventFilters"] == {"topic": "things"}
    assert by_name["on_thing_message"]["retry"] is True
    assert by_name["nightly"]["schedule"] == "every 24 hours"
    assert by_name["nightly"]["timeZone"] == "UTC"


def test_http_function_sees_the_path_after_its_name(host: SampleHost) -> None:
    bare = requests.get(host.url("echo"), timeout=30).json()
    assert bare["path"] == "/"
    assert bare["scriptRoot"] == f"/{PROJECT}/{REGION}/echo"
    nested = requests.get(host.url("echo", "/tasks/abc"), params={"x": "1"}, timeout=30).json()
    assert nested["path"] == "/tasks/abc"
    assert nested["args"] == {"x": "1"}
    assert nested["emulator"] == "true"
    assert nested["project"] == PROJECT


def test_functions_see_the_dotenv_files_in_firebase_order(host: SampleHost) -> None:
    body = requests.get(host.url("echo"), timeout=30).json()
    assert body["greeting"] == "hello from .env.local"
    assert body["quoted"] == "a # b"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_method_reaches_the_function(host: SampleHost, method: str) -> None:
    response = requests.request(method, host.url("echo", "/x"), data="payload", timeout=30)
    assert response.status_code == 200
    assert response.json()["method"] == method
    if method != "DELETE":
        assert response.json()["body"] == "payload"


def test_cors_preflight_is_answered_by_the_function(host: SampleHost) -> None:
    response = requests.options(
        host.url("with_cors"),
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "path",
    [
        f"/{PROJECT}/{REGION}/missing",
        f"/other-project/{REGION}/echo",
        f"/{PROJECT}/europe-west1/echo",
        f"/{PROJECT}",
        "/",
    ],
)
def test_unknown_functions_answer_404(host: SampleHost, path: str) -> None:
    response = requests.get(host.base + path, timeout=30)
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_raising_function_answers_500_and_logs_an_error_line(host: SampleHost) -> None:
    response = requests.get(host.url("boom"), timeout=30)
    assert response.status_code == 500
    errors = wait_until(
        lambda: [
            e
            for e in host.log_entries()
            if e.get("severity") == "ERROR" and e.get("function") == "boom" and "traceback" in e
        ],
        timeout=30,
    )
    assert "sample failure" in errors[0]["traceback"]


def test_streamed_responses_reach_the_client_as_they_are_produced(host: SampleHost) -> None:
    gate = f"gate-{uuid.uuid4().hex}"
    with requests.get(
        host.url("stream"), params={"gate": gate}, stream=True, timeout=30
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Length" not in response.headers
        lines = response.iter_lines(chunk_size=1)
        assert [next(lines), next(lines)] == [b"event: first", b"data: 1"]
        (host.out_dir / gate).write_text("go")
        rest = [line for line in lines if line]
    assert rest == [b"event: second", b"data: 2"]


def test_firestore_cloudevent_in_binary_mode(host: SampleHost) -> None:
    from google.events.cloud.firestore import Document, DocumentEventData, Value

    thing = f"t-{uuid.uuid4().hex[:8]}"
    document = f"things/{thing}"
    name = f"projects/{PROJECT}/databases/(default)/documents/{document}"
    body = DocumentEventData.serialize(
        DocumentEventData(value=Document(name=name, fields={"n": Value(integer_value=5)}))
    )
    headers = {
        "Content-Type": "application/protobuf",
        "ce-specversion": "1.0",
        "ce-id": "event-1",
        "ce-type": "google.cloud.firestore.document.v1.created",
        "ce-source": f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)",
        "ce-subject": f"documents/{document}",
        "ce-time": "2026-01-01T00:00:00.000000Z",
        "ce-location": "nam5",
        "ce-project": PROJECT,
        "ce-database": "(default)",
        "ce-namespace": "(default)",
        "ce-document": document,
    }
    response = requests.post(host.url("on_thing_created"), data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    recorded = host.recorded("on_thing_created")
    assert recorded["id"] == "event-1"
    assert recorded["params"] == {"thingId": thing}
    assert recorded["document"] == document
    assert recorded["data"] == {"n": 5}


def test_pubsub_cloudevent_in_structured_mode(host: SampleHost) -> None:
    payload = {"probeId": "p1"}
    event = {
        "specversion": "1.0",
        "id": "message-7",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/things",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "message": {
                "data": base64.b64encode(json.dumps(payload).encode()).decode(),
                "attributes": {"kind": "probe"},
                "messageId": "message-7",
                "message_id": "message-7",
                "publishTime": "2026-01-01T00:00:00Z",
                "publish_time": "2026-01-01T00:00:00Z",
            },
            "subscription": f"projects/{PROJECT}/subscriptions/s",
        },
    }
    response = requests.post(
        host.url("on_thing_message"),
        data=json.dumps(event),
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    recorded = host.recorded("on_thing_message")
    assert recorded["id"] == "message-7"
    assert recorded["messageId"] == "message-7"
    assert recorded["json"] == payload
    assert recorded["attributes"] == {"kind": "probe"}


def test_an_event_that_is_not_a_cloudevent_is_rejected(host: SampleHost) -> None:
    response = requests.post(host.url("on_thing_message"), json={"hello": 1}, timeout=30)
    assert response.status_code == 400


def test_scheduled_function_runs_now_on_request(host: SampleHost) -> None:
    response = requests.post(f"{host.base}/__/scheduler/nightly:run", timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"ran": "nightly", "status": 200}
    assert host.recorded("nightly") == {"job": f"firebase-schedule-nightly-{REGION}"}


def test_running_an_unknown_schedule_answers_404(host: SampleHost) -> None:
    response = requests.post(f"{host.base}/__/scheduler/echo:run", timeout=30)
    assert response.status_code == 404
