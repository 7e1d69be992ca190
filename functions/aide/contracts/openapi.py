"""OpenAPI 3.1 from the endpoint registry, every body wrapped in the response envelope."""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from aide import config
from aide.contracts.registry import ENDPOINTS, Endpoint
from aide.domain.access import KNOWN_SCOPES
from aide.entrypoints import errors as api_errors
from aide.entrypoints.http_request import MAX_BODY_BYTES

REF: Final = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_REASONS: Final = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad request (malformed JSON, wrong content type, validation failure)",
    401: "Missing or invalid credentials",
    403: "Account inactive or insufficient permissions",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    429: "Quota exceeded",
    500: "Internal error",
    503: "Service unavailable",
}
# Every operation can answer these, whatever its own errors are.
_COMMON_ERRORS: Final = (405, 500)
_BODY_ERRORS: Final = (400, 413)
# Every authenticated call is metered before its handler runs (aide.entrypoints.metering).
_AUTHENTICATED_ERRORS: Final = (401, 403, 429)
# functions-framework routes every request through werkzeug's `/<path:path>` rule, whose regex
# does not match a line break: a path segment holding one is answered by the framework itself
# (404, HTML) before the function runs, in production as in the local functions host.
_FRAMEWORK_NOT_FOUND: Final = {"text/html": {"schema": {"type": "string"}}}


# What an OpenAPI document served by an endpoint of its own looks like (not an envelope).
_OPENAPI_DOCUMENT: Final = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}},
}


def error_codes() -> dict[str, int]:
    """Every ApiError code and its HTTP status, for clients that switch on `error.code`."""
    found: dict[str, int] = {}
    pending: list[type[api_errors.ApiError]] = [api_errors.ApiError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls.status)
        pending.extend(cls.__subclasses__())
    return dict(sorted(found.items()))


def _envelopes(data_refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "ErrorEnvelope": {
            "type": "object",
            "required": ["success", "error"],
            "properties": {
                "success": {"const": False},
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": list(error_codes())},
                        "message": {"type": "string"},
                        "details": {},
                    },
                },
            },
        },
        "EmptySuccessEnvelope": {
            "type": "object",
            "required": ["success"],
            "properties": {"success": {"const": True}, "data": {}},
        },
    }
    for name, ref in data_refs.items():
        schemas[f"{name}Envelope"] = {
            "type": "object",
            "required": ["success", "data"],
            "properties": {"success": {"const": True}, "data": ref},
        }
    return schemas


def _json_content(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is left out, never sent as null: drop the null branch."""
    branches = schema.get("anyOf")
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    if schema.get("default") is not None:
        rest["default"] = schema["default"]
    if branches is None:
        return rest
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _query_parameters(model_schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(model_schema.get("required", ()))
    parameters: list[dict[str, Any]] = []
    for name, property_schema in model_schema.get("properties", {}).items():
        schema = _without_null(property_schema)
        schema.pop("title", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        description = schema.pop("description", None)
        if description:
            parameter["description"] = description
        if schema.get("type") == "array":
            parameter["description"] = (
                f"{description or name}. Repeat the parameter once per value."
            )
            parameter.update(style="form", explode=True)
        parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


def _header_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    return [
        {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": header.schema,
        }
        for header in endpoint.headers
    ]


def _operation(
    endpoint: Endpoint,
    refs: dict[type[BaseModel], dict[str, Any]],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in sorted(endpoint.responses.items()):
        envelope = f"{model.__name__}Envelope" if model else "EmptySuccessEnvelope"
        responses[str(status)] = {
            "description": _REASONS.get(status, "Success"),
            "content": _json_content(REF.format(model=envelope)),
        }
    if endpoint.document:
        responses["200"] = {
            "description": "The OpenAPI document",
            "content": {"application/json": {"schema": _OPENAPI_DOCUMENT}},
        }
    error_statuses = set(endpoint.errors) | set(_COMMON_ERRORS)
    if endpoint.request is not None:
        error_statuses |= set(_BODY_ERRORS)
    if endpoint.query is not None or endpoint.headers:
        error_statuses.add(400)
    if endpoint.authenticated:
        error_statuses |= set(_AUTHENTICATED_ERRORS)
    for status in sorted(error_statuses - set(endpoint.responses)):
        responses[str(status)] = {
            "description": _REASONS.get(status, "Error"),
            "content": _json_content(REF.format(model="ErrorEnvelope")),
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": list(endpoint.tags),
        "responses": responses,
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    path_parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    parameters = [*path_parameters, *_header_parameters(endpoint)]
    if endpoint.query is not None:
        query_ref = refs[endpoint.query]["$ref"].rsplit("/", 1)[1]
        parameters.extend(_query_parameters(schemas[query_ref]))
    if parameters:
        operation["parameters"] = parameters
    if path_parameters:
        error_content = _json_content(REF.format(model="ErrorEnvelope"))
        not_found = responses.setdefault(
            "404", {"description": _REASONS[404], "content": error_content}
        )
        not_found["description"] += " (text/html: a path segment holding a line break)"
        not_found["content"] = {**not_found["content"], **_FRAMEWORK_NOT_FOUND}
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": True,
            "description": f"JSON object, at most {MAX_BODY_BYTES} bytes.",
            "content": {"application/json": {"schema": refs[endpoint.request]}},
        }
    if endpoint.authenticated:
        # OpenAPI 3.1 lets a non-OAuth requirement name roles: here, the admin scope a key needs.
        scopes = [endpoint.scope] if endpoint.scope else []
        operation["security"] = [{"bearerAuth": scopes}, {"apiKey": scopes}]
    return operation


_SCOPES_DOC = (
    "An API key acts for its owner, within its scopes and the owner's current role (not at all "
    "while the owner is below developer). Scopes: "
    + ", ".join(sorted(KNOWN_SCOPES))
    + ". `<resource>:read` for reads, `<resource>:write` for changes, `<resource>:*` both, `*` "
    "every resource scope. The admin operations (the admin function, GET/PATCH /users/{uid}) "
    "need `admin:read` / `admin:write` (or `admin:*`), which no resource scope and not `*` "
    "implies; the operation's security requirement names it."
)


def build_openapi(endpoints: list[Endpoint] | None = None) -> dict[str, Any]:
    endpoints = [e for e in (ENDPOINTS if endpoints is None else endpoints) if e.openapi]
    models: list[tuple[type[BaseModel], Any]] = []
    for endpoint in endpoints:
        models.extend(
            (model, "validation") for model in (endpoint.request, endpoint.query) if model
        )
        models.extend((model, "serialization") for model in endpoint.responses.values() if model)
    unique = list(dict.fromkeys(models))
    key_map, definitions = models_json_schema(unique, ref_template=REF)
    refs = {model: key_map[(model, mode)] for model, mode in unique}
    data_refs = {
        model.__name__: key_map[(model, "serialization")]
        for model, mode in unique
        if mode == "serialization"
    }
    schemas = {**definitions.get("$defs", {}), **_envelopes(data_refs)}

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        sub_path = endpoint.path.rstrip("/")
        path = f"/{endpoint.function}{sub_path}"
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, refs, schemas)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AIDE API",
            "version": config.VERSION,
            "description": (
                "HTTP functions of the AIDE backend. Every response is an envelope: "
                '{"success": true, "data": ...} or {"success": false, "error": '
                '{"code", "message", "details"}}.'
            ),
        },
        "servers": [
            {
                "url": "http://127.0.0.1:5001/demo-aide/us-central1",
                "description": "local platform (make dev)",
            },
            {
                "url": "https://us-central1-{project}.cloudfunctions.net",
                "description": "deployed functions",
                "variables": {"project": {"default": "demo-aide"}},
            },
        ],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Firebase ID token, or an API key (aide_...). " + _SCOPES_DOC,
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": _SCOPES_DOC,
                },
            },
        },
    }
