"""What handlers read from a request, with one rule each: the JSON body (size limit, content
type, syntax, then the model), the query string, the `Idempotency-Key` header (and the header
that says a response is a replay)."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, Final, TypeVar

from flask import Request
from pydantic import BaseModel, ValidationError

from aide.entrypoints import json_text
from aide.entrypoints.errors import (
    BadRequest,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

MAX_BODY_BYTES = 1024 * 1024
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
M = TypeVar("M", bound=BaseModel)


def read_json(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The parsed JSON body. 413 over `max_bytes`; 400 for another content type, an empty body,
    invalid JSON (details say where), nesting too deep or a number no field can hold
    (aide.entrypoints.json_text)."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise PayloadTooLarge(details={"maxBytes": max_bytes, "receivedBytes": declared})
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(details={"contentType": request.content_type or None})
    # Read at most one byte past the limit so a chunked body without Content-Length is bounded.
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(details={"maxBytes": max_bytes})
    if not raw.strip():
        raise MalformedJson("Request body is empty")
    try:
        text = raw.decode(request.mimetype_params.get("charset", "utf-8"))
        return json_text.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedJson(
            details={"line": error.lineno, "column": error.colno, "reason": error.msg}
        ) from error
    except (UnicodeDecodeError, LookupError, ValueError) as error:
        raise MalformedJson(details={"reason": str(error)}) from error


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    """Field-level details: `field` is the camelCase path as the client sent it ("tasks.0.ref")."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"],
            "type": item["type"],
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise BadRequest(
            "Request body must be a JSON object", details={"type": type(data).__name__}
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(details=validation_details(error)) from error


def parse_body(request: Request, model: type[M], *, max_bytes: int = MAX_BODY_BYTES) -> M:
    return validate(model, read_json(request, max_bytes=max_bytes))


def optional_body(request: Request) -> Any:
    """An empty body means `{}` (e.g. cancel takes an optional reason)."""
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    return read_json(request)


def query_params(request: Request, *, repeatable: Collection[str] = ()) -> dict[str, Any]:
    """The query string as a dict of strings. A parameter named in `repeatable` is a list of
    every value given; any other parameter given more than once is refused (400), never
    half-used."""
    repeated = sorted(
        key for key, values in request.args.lists() if len(values) > 1 and key not in repeatable
    )
    if repeated:
        raise BadRequest(
            "Query parameters may be given once",
            details=[{"field": key, "message": "repeated", "type": "query"} for key in repeated],
        )
    return {
        key: values if key in repeatable else values[0] for key, values in request.args.lists()
    }


def idempotency_key(request: Request) -> str | None:
    return request.headers.get(IDEMPOTENCY_HEADER)


def replay_headers(replayed: bool) -> dict[str, str]:
    """The response headers of a create answered from its Idempotency-Key record."""
    return {REPLAYED_HEADER: "true"} if replayed else {}
