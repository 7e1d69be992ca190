"""The wrapper every HTTP function runs its router in: request context for logs, CORS,
errors rendered in the envelope, and no unhandled exception ever reaching the client raw."""

from __future__ import annotations

import time

from flask import Request, Response
from pydantic import ValidationError

from aide import config
from aide.entrypoints.cors import apply_cors, is_preflight, preflight_response
from aide.entrypoints.envelope import failure
from aide.entrypoints.errors import ApiError, Internal, ValidationFailed
from aide.entrypoints.request_body import validation_details
from aide.entrypoints.routing import Router
from aide.structured_logging import bind_request_context, get_logger, new_request_context

log = get_logger(__name__)


def _project_or_none() -> str | None:
    try:
        return config.project_id()
    except RuntimeError:
        return None


def handle(request: Request, router: Router) -> Response:
    started = time.perf_counter()
    context = new_request_context(
        trace_header=request.headers.get("X-Cloud-Trace-Context"),
        request_id=request.headers.get("X-Request-Id"),
        project=_project_or_none(),
    )
    with bind_request_context(context):
        origins = config.cors_origins()
        if is_preflight(request):
            return preflight_response(request, origins)
        try:
            response = router.dispatch(request)
        except ApiError as error:
            response = failure(error)
        except ValidationError as error:
            # A model built from stored data or a query string failed: still the client's input.
            response = failure(ValidationFailed(details=validation_details(error)))
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            response = failure(Internal())
        response.headers["X-Request-Id"] = context.request_id
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "fields": {
                    "httpRequest": {
                        "requestMethod": request.method,
                        "requestUrl": request.url,
                        "status": response.status_code,
                        "latency": f"{time.perf_counter() - started:.6f}s",
                        "userAgent": request.headers.get("User-Agent", ""),
                        "remoteIp": request.remote_addr or "",
                    }
                }
            },
        )
        return apply_cors(request, response, origins)
