"""graphql: the GraphQL gateway (`/graphql` locally, `/api/graphql` behind Hosting).

`POST` JSON `{query, variables, operationName}` (or `GET` with the same in the query string, for
queries) → `{"data", "errors"}`, GraphQL's own response shape. A subscription is `POST` with
`Accept: text/event-stream` (the graphql-sse protocol, distinct connections mode; see
aide.entrypoints.graphql_api.subscriptions).

Order, so that a refused request costs as little as possible: the request is parsed, validated
and measured (depth, complexity) first — no Firestore operation —, then the caller is admitted
exactly as a REST call (aide.entrypoints.auth.admit: credentials, account status, metering by
the request's price, audit actor), then the operation runs; each field checks its API-key
scope and calls the same service as the REST operation it mirrors.

Refusals: a request that cannot run is 400 (405 for a mutation over GET) with `errors` only;
a caller refused at admission gets the REST status (401, 403, 429 with Retry-After, 503) and
`errors[0].extensions.code` UNAUTHENTICATED, FORBIDDEN, QUOTA_EXCEEDED or UNAVAILABLE; a field
refused during execution is `null` with its error (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT,
CONFLICT, ...) and the rest of the answer stands (200).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from flask import Request, Response, after_this_request, has_request_context
from graphql import GraphQLError, OperationType, execute

from aide.domain.users import UserRole
from aide.entrypoints.audit import bind_request_actor
from aide.entrypoints.auth import admit
from aide.entrypoints.envelope import json_response
from aide.entrypoints.errors import ApiError, QuotaExceeded
from aide.entrypoints.graphql_api.errors import to_graphql_error
from aide.entrypoints.graphql_api.request import CheckedRequest, RequestErrors, check
from aide.entrypoints.http_handler import handle
from aide.entrypoints.operation import AdmissionStep, Operation
from aide.entrypoints.routing import Router

if TYPE_CHECKING:
    from aide.domain.access import Principal

router = Router("graphql")

OPERATIONS: Final = {
    kind: Operation(
        name=f"aide.entrypoints.graphql_http.{kind.value}",
        required_role=UserRole.USER,
        scope=None,  # each field checks its own scope (aide.entrypoints.graphql_api.schema)
    )
    for kind in OperationType
}
EVENT_STREAM: Final = "text/event-stream"


def errors_response(
    errors: list[GraphQLError], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response({"errors": [error.formatted for error in errors]}, status, headers)


def metered(units: int) -> AdmissionStep:
    """The metering admission step for a request priced `units` (the REST step prices by
    operation name; a GraphQL request's price depends on what it asks)."""

    def meter(request: Request, principal: Principal, operation: Operation) -> None:
        from aide.adapters.firestore_client import get_firestore
        from aide.services.metering import admit_call

        admission = admit_call(get_firestore(), principal.user, units)
        headers = admission.headers()
        if admission.refusal is not None:
            raise QuotaExceeded(details=admission.refusal.body(), headers=headers)
        if headers and has_request_context():

            @after_this_request
            def add_headers(response: Response) -> Response:
                for name, value in headers.items():
                    response.headers.setdefault(name, value)
                return response

    return meter


def admit_checked(request: Request, checked: CheckedRequest) -> Principal:
    """The caller, admitted as a REST call is; raises ApiError."""
    steps = (metered(checked.units()), bind_request_actor)
    return admit(request, OPERATIONS[checked.kind], steps)


def execute_checked(checked: CheckedRequest, principal: Principal) -> dict[str, Any]:
    from aide.adapters.firestore_client import get_firestore
    from aide.entrypoints.graphql_api.context import new_context
    from aide.entrypoints.graphql_api.schema import (
        default_field_resolver,
        executable_schema,
    )

    result = execute(
        executable_schema(),
        checked.document,
        variable_values=checked.variables,
        operation_name=checked.operation_name,
        context_value=new_context(get_firestore(), principal),
        field_resolver=default_field_resolver,
    )
    assert not hasattr(result, "__await__"), "resolvers are synchronous"
    body: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = [error.formatted for error in result.errors]  # type: ignore[union-attr]
    body["extensions"] = {
        "cost": {"depth": checked.cost.depth, "complexity": checked.cost.complexity}
    }
    return body


def wants_event_stream(request: Request) -> bool:
    return EVENT_STREAM in (request.headers.get("Accept") or "")


def run(request: Request) -> Response:
    try:
        checked = check(request)
        if checked.kind is OperationType.SUBSCRIPTION and not wants_event_stream(request):
            raise RequestErrors(
                [
                    GraphQLError(
                        "Subscriptions are served as server-sent events: "
                        f"POST with Accept: {EVENT_STREAM}",
                        extensions={"code": "BAD_REQUEST"},
                    )
                ]
            )
        principal = admit_checked(request, checked)
        if checked.kind is OperationType.SUBSCRIPTION:
            from aide.entrypoints.graphql_api.subscriptions import stream_subscription

            return stream_subscription(request, checked, principal)
    except RequestErrors as refused:
        return errors_response(refused.errors, refused.status)
    except ApiError as error:
        return errors_response([to_graphql_error(error)], error.status, error.headers)
    return json_response(execute_checked(checked, principal), 200)


@router.route("POST", "/")
def post_graphql(request: Request) -> Response:
    return run(request)


@router.route("GET", "/")
def get_graphql(request: Request) -> Response:
    return run(request)


def serve(request: Request) -> Response:
    return handle(request, router)
