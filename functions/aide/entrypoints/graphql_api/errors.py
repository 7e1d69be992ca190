"""How a refusal answers in GraphQL: `errors[].extensions.code` (UNAUTHENTICATED, FORBIDDEN,
NOT_FOUND, BAD_USER_INPUT, CONFLICT, QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL_SERVER_ERROR), with the
REST error's own code and details beside it, so both APIs refuse the same things the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from graphql import GraphQLError
from pydantic import ValidationError

from aide.domain.access import AccessError
from aide.entrypoints.auth import api_error
from aide.entrypoints.errors import ApiError, Conflict, Internal, ValidationFailed
from aide.entrypoints.http_request import validation_details
from aide.entrypoints.task_errors import task_errors
from aide.structured_logging import get_logger

log = get_logger(__name__)

CODES: Final = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "BAD_REQUEST",
    409: "CONFLICT",
    413: "BAD_REQUEST",
    429: "QUOTA_EXCEEDED",
    503: "UNAVAILABLE",
}


def graphql_code(error: ApiError) -> str:
    return CODES.get(error.status, "INTERNAL_SERVER_ERROR")


def to_graphql_error(error: ApiError) -> GraphQLError:
    extensions: dict[str, Any] = {"code": graphql_code(error), "apiCode": error.code}
    if error.details is not None:
        extensions["details"] = error.details
    return GraphQLError(error.message, extensions=extensions)


def bad_input(message: str, details: Any = None) -> GraphQLError:
    return to_graphql_error(ValidationFailed(message, details=details))


def as_api_error(error: Exception) -> ApiError:
    """The REST error a service's refusal renders as; Internal for anything unexpected."""
    from aide.services.projects import MembershipRefused, MembersNeedTeamProject

    if isinstance(error, ApiError):
        return error
    if isinstance(error, AccessError):
        return api_error(error)
    if isinstance(error, ValidationError):
        return ValidationFailed(details=validation_details(error))
    if isinstance(error, MembersNeedTeamProject):
        return Conflict(str(error))
    if isinstance(error, MembershipRefused):
        return ValidationFailed(
            details=[{"field": error.field, "message": error.message, "type": "membership"}]
        )
    try:
        with task_errors():
            raise error
    except ApiError as mapped:
        return mapped
    except Exception:
        log.exception("unhandled error in a GraphQL resolver")
        return Internal()


@contextmanager
def service_errors() -> Iterator[None]:
    """Run resolver code: a refusal becomes a GraphQL error with its code; nothing internal
    leaks into the message."""
    try:
        yield
    except GraphQLError:
        raise
    except Exception as error:
        raise to_graphql_error(as_api_error(error)) from error
