"""shared/ must be exactly what the models generate: regenerate into a temp dir and compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aide.contracts.generate import render

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
HINT = "shared/ drifted from the models: run `make contracts` and commit the result"


def _generated_files(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*.json"))
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
