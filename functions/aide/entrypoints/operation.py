"""What an authenticated handler declares, and the shape of an admission step.

Shared by the HTTP handler that admits requests (aide.entrypoints.http_handler), the decorator
that declares them (aide.entrypoints.auth) and the steps themselves (aide.entrypoints.metering,
aide.entrypoints.audit). It imports none of them, so none of them imports another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Request, Response

from aide.domain.access import Principal
from aide.domain.users import UserRole

AdmissionStep = Callable[[Request, Principal, "Operation"], None]
"""Runs after authorization and before the handler; refuses by raising an ApiError (e.g.
QuotaExceeded) or an aide.domain.access error."""

DenialRecorder = Callable[[Request, Principal], None]
"""Told about a caller that authorization refused for want of role or scope (then the refusal
goes on as it would have)."""


@dataclass(frozen=True)
class Operation:
    """An authenticated operation: what admission judges a request by."""

    name: str
    """"<module>.<handler>", e.g. "aide.entrypoints.agents.list_agents" (what metering prices)."""
    required_role: UserRole
    scope: str | None
    on_denied: DenialRecorder | None = None


@dataclass(frozen=True)
class AuthenticatedHandler:
    """A handler `handler(request, principal, **path_params)` and the operation it serves. The
    HTTP handler admits the request (and finds the principal) before calling it."""

    operation: Operation
    handler: Callable[..., Response]

    def __call__(self, request: Request, principal: Principal, **params: Any) -> Response:
        return self.handler(request, principal, **params)
