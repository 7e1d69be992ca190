"""Functions discovery the way `firebase deploy` runs it, on the real functions/ source.

Two readings of the same manifest are checked against what main.py declares: firebase-tools'
own discovery code (`detectFromPort` of lib/deploy/functions/runtimes/discovery, the parser the
deploy uses) against the SDK admin server started as the CLI starts it, and the functions
host's discovery, which is what runs locally.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from emulators.functions_host.discovery import SERVING_MODULE, discover, firebase_env
from emulators.functions_host.manifest import Manifest, TriggerKind
from emulators.stack.ports import free_port
from emulators.stack.stack import DEFAULT_PROJECT, DEFAULT_REGION, REPO_ROOT

SOURCE = REPO_ROOT / "functions"
FIREBASE_TOOLS = REPO_ROOT / "node_modules" / "firebase-tools"

# The trigger each firebase_functions decorator produces in the manifest.
FIRESTORE = "google.cloud.firestore.document.v1."
DECORATOR_TRIGGERS: dict[str, tuple[str, str | None]] = {
    "on_request": ("httpsTrigger", None),
    "on_call": ("callableTrigger", None),
    "on_document_created": ("eventTrigger", FIRESTORE + "created"),
    "on_document_updated": ("eventTrigger", FIRESTORE + "updated"),
    "on_document_deleted": ("eventTrigger", FIRESTORE + "deleted"),
    "on_document_written": ("eventTrigger", FIRESTORE + "written"),
    "on_message_published": ("eventTrigger", "google.cloud.pubsub.topic.v1.messagePublished"),
    "on_schedule": ("scheduleTrigger", None),
}

# The wiring-critical details of the functions the local platform's own tests rely on.
EXPECTED: dict[str, dict[str, Any]] = {
    "health": {"httpsTrigger": {}},
    "probes": {"httpsTrigger": {}},
    "on_probe_created": {
        "eventTrigger": {
            "eventType": "google.cloud.firestore.document.v1.created",
            "eventFilters": {"database": "(default)", "namespace": "(default)"},
            "eventFilterPathPatterns": {"document": "probes/{probeId}"},
            "retry": False,
        }
    },
    "on_probe_message": {
        "eventTrigger": {
            "eventType": "google.cloud.pubsub.topic.v1.messagePublished",
            # The CLI qualifies the topic the SDK declares as "probes".
            "eventFilters": {"topic": f"projects/{DEFAULT_PROJECT}/topics/probes"},
            "retry": True,
        }
    },
    "purge_expired": {"scheduleTrigger": {"schedule": "every 60 minutes"}},
}

DETECT_SCRIPT = """
const discovery = require(process.argv[1] + "/lib/deploy/functions/runtimes/discovery");
discovery.detectFromPort(Number(process.argv[2]), process.argv[3], "python312", 0, 60000)
  .then((build) => { process.stdout.write(JSON.stringify(build)); process.exit(0); })
  .catch((error) => { console.error(String(error)); process.exit(1); });
"""


def declared_functions() -> dict[str, tuple[str, str | None]]:
    """Read from main.py's source, independently of the SDK: every function decorated with a
    `*_fn.on_*` trigger and the manifest trigger that decorator stands for."""
    tree = ast.parse((SOURCE / "main.py").read_text(encoding="utf-8"))
    declared: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(call, ast.Attribute) and ast.unparse(call.value).endswith("_fn"):
                assert call.attr in DECORATOR_TRIGGERS, f"{node.name}: teach this test {call.attr}"
                declared[node.name] = DECORATOR_TRIGGERS[call.attr]
    return declared


def firebase_tools_build() -> dict[str, Any]:
    """The Build firebase-tools derives from the SDK admin server, started as serveAdmin does."""
    node = shutil.which("node")
    if node is None or not FIREBASE_TOOLS.is_dir():
        pytest.skip("node and node_modules/firebase-tools are needed to run the CLI's discovery")
    port = free_port()
    env = {**os.environ, **firebase_env(DEFAULT_PROJECT), "ADMIN_PORT": str(port)}
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    server = subprocess.Popen(
        [sys.executable, "-m", SERVING_MODULE],
        cwd=SOURCE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        detected = subprocess.run(
            [node, "-e", DETECT_SCRIPT, str(FIREBASE_TOOLS), str(port), DEFAULT_PROJECT],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert detected.returncode == 0, detected.stderr
        return dict(json.loads(detected.stdout))
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return firebase_tools_build()


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return discover(SOURCE, DEFAULT_PROJECT, sys.executable)


def test_firebase_deploy_discovers_every_declared_function_with_its_trigger(
    build: dict[str, Any],
) -> None:
    declared = declared_functions()
    assert set(EXPECTED) <= set(declared)
    assert set(build["endpoints"]) == set(declared)
    for name, (trigger_key, event_type) in declared.items():
        endpoint = build["endpoints"][name]
        assert endpoint["platform"] == "gcfv2", name
        assert endpoint["entryPoint"] == name
        assert endpoint["region"] == [DEFAULT_REGION], name
        assert trigger_key in endpoint, f"{name}: {sorted(endpoint)}"
        if event_type is not None:
            assert endpoint[trigger_key]["eventType"] == event_type, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_firebase_deploy_sees_the_platform_triggers_in_detail(
    build: dict[str, Any], name: str
) -> None:
    ((trigger_key, expected),) = EXPECTED[name].items()
    actual = build["endpoints"][name][trigger_key]
    for key, value in expected.items():
        assert actual.get(key) == value, f"{name}.{trigger_key}.{key}"


def test_scheduled_functions_need_cloud_scheduler(build: dict[str, Any]) -> None:
    assert "cloudscheduler.googleapis.com" in {api["api"] for api in build["requiredAPIs"]}


def test_the_host_discovers_what_firebase_deploy_discovers(
    build: dict[str, Any], manifest: Manifest
) -> None:
    """Endpoint by endpoint, the host's reading of the manifest matches the CLI's."""
    assert set(manifest.names()) == set(build["endpoints"])
    for name, endpoint in build["endpoints"].items():
        ours = manifest.endpoint(name)
        assert ours is not None
        assert ours.entry_point == endpoint["entryPoint"]
        assert list(ours.regions) == endpoint["region"]
        if "httpsTrigger" in endpoint:
            assert ours.kind is TriggerKind.HTTPS, name
        elif "callableTrigger" in endpoint:
            assert ours.kind is TriggerKind.CALLABLE, name
        elif "eventTrigger" in endpoint:
            cli = endpoint["eventTrigger"]
            assert ours.kind is TriggerKind.EVENT and ours.event_trigger is not None, name
            assert ours.event_trigger.event_type == cli["eventType"]
            assert ours.event_trigger.retry == cli["retry"]
            assert dict(ours.event_trigger.path_patterns) == cli.get("eventFilterPathPatterns", {})
            filters = dict(ours.event_trigger.filters)
            if "topic" in filters:
                # The SDK declares the topic id; the CLI qualifies it with the project.
                filters["topic"] = f"projects/{DEFAULT_PROJECT}/topics/{filters['topic']}"
            assert filters == cli["eventFilters"], name
        else:
            cli = endpoint["scheduleTrigger"]
            assert ours.kind is TriggerKind.SCHEDULE and ours.schedule_trigger is not None, name
            assert ours.schedule_trigger.schedule == cli["schedule"]
            # Unset in the manifest means UTC for 2nd gen jobs (firebase-tools cloudscheduler.js).
            assert ours.schedule_trigger.time_zone == (cli.get("timeZone") or "UTC")


def test_the_host_wires_the_probe_pipeline_as_declared(manifest: Manifest) -> None:
    created = manifest.endpoint("on_probe_created")
    assert created is not None and created.event_trigger is not None
    assert created.event_trigger.is_firestore
    assert created.event_trigger.document == "probes/{probeId}"
    assert created.event_trigger.database == "(default)"
    message = manifest.endpoint("on_probe_message")
    assert message is not None and message.event_trigger is not None
    assert message.event_trigger.is_pubsub
    assert message.event_trigger.topic == "probes"
    assert message.event_trigger.retry is True
