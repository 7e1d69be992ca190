"""What every HTTP function does with a request, in order: request context for logs, CORS,
routing, admission of an authenticated operation, the handler, errors rendered in the envelope
(no unhandled exception ever reaches the client raw)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from flask import Request, Response
from pydantic import ValidationError

from aide import config
from aide.domain.access import AccessError
from aide.entrypoints.audit import bind_request_actor
from aide.entrypoints.auth import admit, api_error
from aide.entrypoints.cors import apply_cors, is_preflight, preflight_response
from aide.entrypoints.envelope import failure
from aide.entrypoints.errors import ApiError, Internal, ValidationFailed
from aide.entrypoints.http_request import validation_details
from aide.entrypoints.metering import meter
from aide.entrypoints.operation import AdmissionStep
from aide.entrypoints.routing import Router
from aide.structured_logging import bind_request_context, get_logger, new_request_context

log = get_logger(__name__)

ADMISSION: Final[tuple[AdmissionStep, ...]] = (meter, bind_request_actor)
"""After authentication and authorization, every authenticated call is metered (a refusal is
429), then its caller is bound as the actor the services' writes are audited as."""


def _project_or_none() -> str | None:
    try:
        return config.project_id()
    except RuntimeError:
        return None


def dispatch(
    request: Request, router: Router, admission: Sequence[AdmissionStep] = ADMISSION
) -> Response:
    """Route the request and run its handler, admitting it first if its operation is
    authenticated (aide.entrypoints.auth.admit)."""
    route, params = router.resolve(request)
    try:
        operation = route.operation
        if operation is None:
            return route.handler(request, **params)
        principal = admit(request, operation, admission)
        return route.handler(request, principal, **params)
    except AccessError as error:
        raise api_error(error) from error


def handle(
    request: Request, router: Router, *, admission: Sequence[AdmissionStep] = ADMISSION
) -> Response:
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
            response = dispatch(request, router, admission)
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
