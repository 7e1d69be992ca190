"""API errors: each class is an HTTP status and a stable machine-readable `code`.

Handlers raise these; the HTTP wrapper renders them in the error envelope. Anything else that
escapes a handler becomes a 500 `internal` with no detail leaked to the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ApiError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    default_message: ClassVar[str] = "Internal error"

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.headers = dict(headers or {})
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    code = "bad_request"
    default_message = "Bad request"


class ValidationFailed(BadRequest):
    code = "validation_failed"
    default_message = "Validation failed"


def invalid_cursor(message: str) -> ValidationFailed:
    """A `cursor` query parameter its listing did not produce (aide.domain.page_cursor)."""
    return ValidationFailed(
        message, details=[{"field": "cursor", "message": message, "type": "cursor"}]
    )


class MalformedJson(BadRequest):
    code = "malformed_json"
    default_message = "Failed to parse request body"


class UnsupportedMediaType(BadRequest):
    # 400 rather than 415: the seed's contract answers every unreadable body with 400.
    code = "unsupported_media_type"
    default_message = "Content-Type must be application/json"


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"
    default_message = "Unauthorized"


class PermissionDenied(ApiError):
    status = 403
    code = "permission_denied"
    default_message = "Insufficient permissions"


class AccountInactive(PermissionDenied):
    code = "account_inactive"
    default_message = "Account inactive"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "Not found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    default_message = "Method not allowed"


class Conflict(ApiError):
    status = 409
    code = "conflict"
    default_message = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "Request body too large"


class QuotaExceeded(ApiError):
    status = 429
    code = "quota_exceeded"
    default_message = "Quota exceeded"


class Internal(ApiError):
    pass


class Unavailable(ApiError):
    status = 503
    code = "unavailable"
    default_message = "Service unavailable"
