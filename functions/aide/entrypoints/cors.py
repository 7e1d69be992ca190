"""CORS for the web frontend: browsers call the functions cross-origin with bearer tokens.

The allowed origins come from the CORS_ORIGINS param (aide.config.cors_origins): named origins,
or '*'. In a deployed function '*' never matches the `null` origin (sandboxed iframes, `data:`
and `file:` pages, which any site can produce); only naming "null" explicitly would allow it.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Request, Response

from aide import config

ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-API-Key",
    "X-Request-Id",
    "X-Cloud-Trace-Context",
)
EXPOSED_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id")
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PREFLIGHT_MAX_AGE_SECONDS = 3600


OPAQUE_ORIGIN = "null"


def allowed_origin(origin: str | None, origins: Sequence[str]) -> str | None:
    if not origin:
        return None
    if origin in origins:
        return origin
    if "*" in origins and (origin != OPAQUE_ORIGIN or not config.is_deployed()):
        return "*"
    return None


def is_preflight(request: Request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def preflight_response(request: Request, origins: Sequence[str]) -> Response:
    response = Response(status=204)
    if allowed_origin(request.headers.get("Origin"), origins):
        response.headers["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
        response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return apply_cors(request, response, origins)


def apply_cors(request: Request, response: Response, origins: Sequence[str]) -> Response:
    origin = allowed_origin(request.headers.get("Origin"), origins)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    if "*" not in origins or config.is_deployed():
        # The answer depends on the Origin header (deployed, even under '*': see `null`).
        response.headers.add("Vary", "Origin")
    return response
