"""The response envelope every HTTP function answers with (the seed's contract):

    {"success": true, "data": {...}}
    {"success": false, "error": {"code": "...", "message": "...", "details": ...}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from aide.entrypoints.errors import ApiError

JSON_MIMETYPE = "application/json"


def jsonable(data: Any) -> Any:
    """Plain JSON values from models (camelCase, RFC 3339 'Z' timestamps, no nulls) and builtins."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True, exclude_none=True)
    return to_jsonable_python(data, by_alias=True, exclude_none=True)


def json_response(
    body: Mapping[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(text, status=status, headers=dict(headers or {}), mimetype=JSON_MIMETYPE)


def success_body(data: Any) -> dict[str, Any]:
    return {"success": True, "data": jsonable(data)}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": jsonable(details)},
    }


def success(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(success_body(data), status, headers)


def failure(error: ApiError) -> Response:
    return json_response(
        error_body(error.code, error.message, error.details), error.status, error.headers
    )
