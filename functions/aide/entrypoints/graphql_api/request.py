"""One GraphQL request, from HTTP to a checked operation: the parameters (`POST` JSON
`{query, variables, operationName}`, or `GET` query string for queries), the parsed document,
validation against the schema, the operation chosen, its depth/complexity and its price.

Everything here runs before authentication and costs no Firestore operation, so a malformed or
oversized query is refused for free."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from flask import Request
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)

from aide.entrypoints.errors import MethodNotAllowed
from aide.entrypoints.graphql_api import limits
from aide.entrypoints.graphql_api.schema import executable_schema
from aide.entrypoints.http_request import read_json

MAX_QUERY_CHARS: Final = 20_000
CACHED_QUERY_CHARS: Final = 4_000
"""Valid documents up to this size are kept parsed and validated (clients send the same few
queries again and again; parsing and validating one costs about a millisecond)."""
COMPLEXITY_PER_UNIT: Final = 100
"""Metering: a request costs at least what the REST calls it replaces cost, and one unit per
this much complexity."""
# The REST operation whose price (aide.domain.quota.DEFAULT_UNITS) a root field is charged.
REST_EQUIVALENTS: Final = {
    "createTask": "aide.entrypoints.tasks.create_task",
    "createTaskGroup": "aide.entrypoints.task_groups.create_task_group",
    "usage": "aide.entrypoints.users.get_my_usage",
}


class RequestErrors(Exception):
    """The request cannot run: answered `{"errors": [...]}` with `status` and no `data`."""

    def __init__(self, errors: list[GraphQLError], status: int = 400) -> None:
        self.errors = errors
        self.status = status
        super().__init__("; ".join(error.message for error in errors))


@dataclass(frozen=True)
class CheckedRequest:
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    variables: dict[str, Any]
    cost: limits.Cost

    @property
    def kind(self) -> OperationType:
        return self.operation.operation

    def root_fields(self) -> list[str]:
        return [
            node.name.value
            for node in self.operation.selection_set.selections
            if isinstance(node, FieldNode)
        ]

    def units(self) -> int:
        """What the request is metered: 0 when every root field is free (reading one's usage),
        else the larger of the REST prices of its root fields and its complexity's units."""
        from aide.entrypoints.metering import units_policy

        fields = [f for f in self.root_fields() if not f.startswith("__")]
        prices = [
            units_policy.units(REST_EQUIVALENTS.get(name, f"aide.entrypoints.graphql.{name}"))
            for name in fields
        ]
        if prices and not any(prices):
            return 0
        return max(sum(prices), math.ceil(self.cost.complexity / COMPLEXITY_PER_UNIT), 1)


def _bad(message: str) -> RequestErrors:
    return RequestErrors([GraphQLError(message, extensions={"code": "BAD_REQUEST"})])


def parameters(request: Request) -> tuple[str, dict[str, Any], str | None]:
    """(query, variables, operationName) from the request; RequestErrors or ApiError."""
    if request.method == "GET":
        args = request.args
        raw_variables: Any = args.get("variables")
        try:
            variables = json.loads(raw_variables) if raw_variables else None
        except ValueError as error:
            raise _bad("variables must be a JSON object") from error
        body: Any = {
            "query": args.get("query"),
            "variables": variables,
            "operationName": args.get("operationName"),
        }
    elif request.method == "POST":
        body = read_json(request)
    else:
        raise MethodNotAllowed(headers={"Allow": "GET, POST"})
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object")
    query, variables, operation_name = (
        body.get("query"),
        body.get("variables"),
        body.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise _bad("A query string is required")
    if len(query) > MAX_QUERY_CHARS:
        raise _bad(f"The query is longer than {MAX_QUERY_CHARS} characters")
    if variables is not None and not isinstance(variables, dict):
        raise _bad("variables must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _bad("operationName must be a string")
    return query, variables or {}, operation_name


def check(request: Request) -> CheckedRequest:
    """The request's operation, parsed, valid, within the limits and allowed for its method."""
    query, variables, operation_name = parameters(request)
    document = (
        valid_cached_document(query) if len(query) <= CACHED_QUERY_CHARS else valid_document(query)
    )
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise _bad("operationName does not name one operation of the document")
    if request.method == "GET" and operation.operation is not OperationType.QUERY:
        raise RequestErrors(
            [GraphQLError("GET serves queries only; use POST", extensions={"code": "BAD_REQUEST"})],
            status=405,
        )
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    cost = limits.measure(operation, fragments, variables)
    refused = limits.check(cost)
    if refused:
        raise RequestErrors(refused)
    return CheckedRequest(document, operation, operation_name, variables, cost)


def valid_document(query: str) -> DocumentNode:
    """`query` parsed and validated against the schema; raises RequestErrors."""
    try:
        document = parse(query)
    except GraphQLError as error:
        error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
        raise RequestErrors([error]) from error
    invalid = validate(executable_schema(), document)
    if invalid:
        for invalid_error in invalid:
            invalid_error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
        raise RequestErrors(list(invalid))
    return document


# Only valid documents are kept (an exception is never cached), and execution does not change
# a document, so one parsed document is shared by the requests and threads that send its text.
valid_cached_document = lru_cache(maxsize=256)(valid_document)
