"""shared/ must be exactly what the models generate: regenerate into a temp dir and compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from aide.contracts.generate import render

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
HINT = "shared/ drifted from the models: run `make contracts` and commit the result"


def _generated_files(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted([*directory.rglob("*.json"), *directory.rglob("*.graphql")])
    }


def test_shared_contracts_match_the_models(tmp_path: Path) -> None:
    # The same command `make contracts` runs, so the Makefile recipe is exercised too.
    subprocess.run(
        [sys.executable, "-m", "aide.contracts", str(tmp_path)],
        cwd=ROOT / "functions",
        check=True,
        capture_output=True,
        timeout=120,
    )
    expected = _generated_files(tmp_path)
    actual = _generated_files(SHARED)
    assert sorted(actual) == sorted(expected), HINT
    for name, content in expected.items():
        assert actual[name] == content, f"{name}: {HINT}"


def test_every_contract_is_valid_json_with_a_schema_dialect() -> None:
    for name, content in render().items():
        if not name.endswith(".json"):
            continue
        body = json.loads(content)
        if name.startswith("schemas/"):
            assert body["$schema"].startswith("https://json-schema.org/"), name
            assert body["type"] == "object", name


def test_openapi_describes_the_existing_endpoints_in_the_envelope() -> None:
    spec = json.loads(render()["openapi.json"])
    assert spec["openapi"].startswith("3.1")
    operations = {
        (path, method): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert {("/health", "get"), ("/probes", "post"), ("/probes/{probeId}", "get")} <= set(
        operations
    )
    health = operations[("/health", "get")]["responses"]
    assert set(health) >= {"200", "503"}
    ref = health["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert envelope["properties"]["success"] == {"const": True}
    not_found = operations[("/probes/{probeId}", "get")]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")
    # Every $ref resolves inside the document.
    text = json.dumps(spec)
    for schema_name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert schema_name in spec["components"]["schemas"], schema_name


def test_constants_carry_collections_and_enums() -> None:
    constants = json.loads(render()["constants.json"])
    assert constants["collections"]["TASKS"] == "tasks"
    assert constants["collections"]["PROCESSED_EVENTS"] == "processed_events"
    assert constants["enums"]["taskStatus"] == [
        "pending",
        "queued",
        "in_progress",
        "completed",
        "failed",
        "cancelled",
    ]
    assert constants["enums"]["userRole"] == ["user", "developer", "admin"]
    assert set(constants["plans"]) == {"free", "pro", "enterprise"}
    assert constants["errorCodes"]["validation_failed"] == 400


def test_query_strings_and_request_headers_are_parameter_objects() -> None:
    spec = json.loads(render()["openapi.json"])
    paths = spec["paths"]

    def parameters(path: str, method: str, location: str) -> dict[str, dict[str, Any]]:
        declared = paths[path][method].get("parameters", [])
        return {p["name"]: p for p in declared if p["in"] == location}

    tasks = parameters("/tasks", "get", "query")
    assert list(tasks) == ["status", "projectId", "priority", "agentId", "limit", "cursor"]
    assert not any(parameter["required"] for parameter in tasks.values())
    assert tasks["limit"]["schema"] == {
        "maximum": 100,
        "minimum": 1,
        "type": "integer",
        "default": 20,
    }
    assert tasks["status"]["schema"] == {"$ref": "#/components/schemas/TaskStatus"}
    assert tasks["cursor"]["description"]
    assert "400" in paths["/tasks"]["get"]["responses"]

    assert set(parameters("/projects", "get", "query")) == {"limit", "cursor"}
    assert set(parameters("/agents", "get", "query")) == {"status"}
    audit = paths["/admin/audit-logs"]["get"]
    assert "requestBody" not in audit
    assert {"since", "until", "limit", "cursor"} <= set(
        parameters("/admin/audit-logs", "get", "query")
    )
    names = parameters("/knowledge/nodes", "get", "query")["names"]
    assert names["required"] is True and names["schema"]["type"] == "array"
    assert names["explode"] is True

    for path in ("/tasks", "/task_groups", "/agents"):
        header = parameters(path, "post", "header")["Idempotency-Key"]
        assert header["required"] is False
        assert header["schema"]["maxLength"] == 255
    for path, method in (("/projects", "post"), ("/api_keys", "post"), ("/tasks", "get")):
        assert "Idempotency-Key" not in parameters(path, method, "header")
