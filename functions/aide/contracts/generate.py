"""Renders every contract file in memory, then writes them under an output directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aide import config
from aide.contracts.openapi import build_openapi, error_codes
from aide.contracts.registry import DOCUMENTS, ENUMS, REQUESTS, RESPONSES
from aide.domain.access import ADMIN_SCOPES, KNOWN_SCOPES
from aide.domain.api_keys import API_KEY_PREFIX
from aide.domain.collections import COLLECTIONS, SUBCOLLECTIONS
from aide.domain.system_config import DEFAULT_PLANS
from aide.domain.task_groups import MAX_TASKS_PER_GROUP
from aide.domain.topics import TOPICS
from aide.entrypoints.graphql_api.schema import printed_schema
from aide.entrypoints.http_request import MAX_BODY_BYTES
from aide.entrypoints.json_text import MAX_DEPTH as MAX_JSON_DEPTH

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = "schemas"


def _schema(name: str, model: type[BaseModel], mode: Any) -> dict[str, Any]:
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{name}.schema.json",
        **model.model_json_schema(by_alias=True, mode=mode),
    }


def build_constants() -> dict[str, Any]:
    return {
        "version": config.VERSION,
        "region": config.REGION,
        "collections": COLLECTIONS,
        "subcollections": SUBCOLLECTIONS,
        "topics": TOPICS,
        "enums": {name: [member.value for member in enum] for name, enum in ENUMS.items()},
        "plans": {
            str(name): plan.model_dump(mode="json", by_alias=True)
            for name, plan in DEFAULT_PLANS.items()
        },
        "errorCodes": error_codes(),
        "limits": {
            "maxRequestBodyBytes": MAX_BODY_BYTES,
            "maxJsonDepth": MAX_JSON_DEPTH,
            "maxTasksPerGroup": MAX_TASKS_PER_GROUP,
        },
        "apiKeyPrefix": API_KEY_PREFIX,
        # Admin scopes are granted only by name: no resource scope and not "*" implies them.
        "apiKeyScopes": sorted(KNOWN_SCOPES),
        "adminScopes": list(ADMIN_SCOPES),
    }


def render() -> dict[str, str]:
    """Relative path -> file content, for every generated file."""
    files: dict[str, Any] = {}
    for name, model in DOCUMENTS.items():
        files[f"{SCHEMAS_DIR}/{name}.schema.json"] = _schema(name, model, "serialization")
    for name, model in REQUESTS.items():
        files[f"{SCHEMAS_DIR}/{name}.schema.json"] = _schema(name, model, "validation")
    for name, model in RESPONSES.items():
        files[f"{SCHEMAS_DIR}/{name}.schema.json"] = _schema(name, model, "serialization")
    files["openapi.json"] = build_openapi()
    files["constants.json"] = build_constants()
    rendered = {
        path: json.dumps(body, indent=2, ensure_ascii=False) + "\n" for path, body in files.items()
    }
    rendered["schema.graphql"] = printed_schema()
    return rendered


def write(output: Path) -> list[Path]:
    """Writes every contract under `output`, removing schema files no longer generated."""
    rendered = render()
    written: list[Path] = []
    for relative, content in rendered.items():
        path = output / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
        written.append(path)
    schemas = output / SCHEMAS_DIR
    for stale in schemas.glob("*.schema.json"):
        if f"{SCHEMAS_DIR}/{stale.name}" not in rendered:
            stale.unlink()
    return written
