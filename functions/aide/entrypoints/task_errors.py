"""How the task and task-group services' refusals answer over HTTP (shared by both functions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aide.domain.task_graph import TaskGraphError
from aide.domain.task_lifecycle import IllegalTransition
from aide.entrypoints.errors import Conflict, NotFound, ValidationFailed, invalid_cursor
from aide.entrypoints.http_request import IDEMPOTENCY_HEADER
from aide.services.idempotent_requests import IdempotencyKeyReused, InvalidIdempotencyKey
from aide.services.task_groups import NothingToRetry, TaskGroupNotFound
from aide.services.tasks import (
    DependencyBlocked,
    InvalidCursor,
    InvalidReference,
    RetryLimitReached,
    TaskNotFound,
)


@contextmanager
def task_errors() -> Iterator[None]:
    try:
        yield
    except TaskNotFound as error:
        raise NotFound("Task not found") from error
    except TaskGroupNotFound as error:
        raise NotFound("Task group not found") from error
    except IllegalTransition as error:
        raise Conflict(error.message, details=error.details) from error
    except NothingToRetry as error:
        raise Conflict(error.message) from error
    except RetryLimitReached as error:
        raise Conflict(
            error.message, details={"retryLimit": error.limit, "plan": error.plan}
        ) from error
    except DependencyBlocked as error:
        raise Conflict(error.message, details={"dependency": error.dependency_id}) from error
    except IdempotencyKeyReused as error:
        raise Conflict(str(error), details={"header": IDEMPOTENCY_HEADER}) from error
    except TaskGraphError as error:
        raise ValidationFailed(
            error.message, details={"code": str(error.code), **error.details}
        ) from error
    except InvalidReference as error:
        raise ValidationFailed(error.message, details=error.details) from error
    except InvalidCursor as error:
        raise invalid_cursor(str(error)) from error
    except InvalidIdempotencyKey as error:
        raise ValidationFailed(
            str(error),
            details=[{"field": IDEMPOTENCY_HEADER, "message": str(error), "type": "header"}],
        ) from error
