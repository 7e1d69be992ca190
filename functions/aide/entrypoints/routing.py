"""A tiny router for a function's own sub-paths.

Inside a function, `request.path` is what follows the function's name (`/`, `/abc123`,
`/abc123/cancel`). Behind a Firebase Hosting rewrite (`/api/<resource>/**`) the full path arrives,
so the `/api/<resource>` prefix is stripped first.

Every path parameter (`{task_id}`, `{uid}`, ...) names a Firestore document. A segment Firestore
could not take as a document id (`__x__`, `.`, `..`, over 1,500 bytes; '/' never reaches here as
it splits segments) names nothing that can exist, so the router answers 404 `not_found` itself,
before authentication and before any handler: handlers and services never see such an id, and
the client library's INVALID_ARGUMENT never becomes a 500. Answering before authentication
confirms nothing, since no such resource exists for anyone (as with a path no route matches).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Request, Response

from aide.domain.document_ids import is_usable_id
from aide.entrypoints.errors import MethodNotAllowed, NotFound
from aide.entrypoints.operation import AuthenticatedHandler, Operation

Handler = Callable[..., Response]
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler

    @property
    def operation(self) -> Operation | None:
        """The authenticated operation the handler serves; None for a public route."""
        return self.handler.operation if isinstance(self.handler, AuthenticatedHandler) else None

    @property
    def pattern(self) -> str:
        return "/" + "/".join(self.segments)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            name = _PARAM.match(pattern)
            if name:
                params[name.group(1)] = part
            elif pattern != part:
                return None
        return params


def split_path(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


class Router:
    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.routes: list[Route] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register `handler(request, **path_params)` for `method` on `pattern` ("/{id}/cancel")."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), tuple(split_path(pattern)), handler))
            return handler

        return register

    def relative_parts(self, path: str) -> list[str]:
        parts = split_path(path)
        if parts[:2] == ["api", self.resource]:
            return parts[2:]
        return parts

    def resolve(self, request: Request) -> tuple[Route, dict[str, str]]:
        """The route for the request and its path parameters; NotFound or MethodNotAllowed."""
        parts = self.relative_parts(request.path)
        method = request.method.upper()
        allowed: list[str] = []
        candidates: list[tuple[int, Route, dict[str, str]]] = []
        for route in self.routes:
            params = route.match(parts)
            if params is None:
                continue
            allowed.append(route.method)
            if route.method == method:
                candidates.append((len(params), route, params))
        if candidates:
            # A literal segment beats a parameter: `/me` wins over `/{uid}` whatever the order.
            _, route, params = min(candidates, key=lambda candidate: candidate[0])
            if not all(is_usable_id(value) for value in params.values()):
                raise NotFound()
            return route, params
        if allowed:
            raise MethodNotAllowed(
                details={"allowed": sorted(set(allowed))},
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise NotFound(f"No route for {request.method} /{'/'.join(parts)}")
