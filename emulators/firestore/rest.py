"""The REST (proto3 JSON) form of the unary calls the web SDK makes over plain HTTP.

``POST /v1/{database}/documents:batchGet|commit|beginTransaction|rollback`` and
``POST /v1/{parent}:runQuery|runAggregationQuery`` (``parent`` is ``.../documents`` or a
document path below it), plus ``GET /v1/{document name}``. Bodies are the request messages in
proto3 JSON; the resource named in the URL fills the request's ``database`` / ``parent``
(the SDK leaves it out of the body). Streaming calls answer a JSON array of their responses,
as Firestore does. Each call runs the same ``FirestoreService`` method as its gRPC form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from emulators.firestore.call_context import HttpCallContext
from emulators.firestore.errors import EmulatorError
from emulators.firestore.http_status import error_body, http_status
from emulators.firestore.json_messages import parse_request, to_json
from emulators.firestore.protos import (
    BatchGetDocumentsRequest,
    BeginTransactionRequest,
    CommitRequest,
    GetDocumentRequest,
    RollbackRequest,
    RunAggregationQueryRequest,
    RunQueryRequest,
)

_CALL = re.compile(r"^/v1/(projects/[^/:]+/databases/[^/:]+/documents(?:/[^:]*)?):(\w+)$")
_DOCUMENT = re.compile(r"^/v1/(projects/[^/:]+/databases/[^/:]+/documents/[^:]+)$")

# URL method -> (request class, field the URL fills, service method name, streams?)
_METHODS: dict[str, tuple[Any, str, str, bool]] = {
    "batchGet": (BatchGetDocumentsRequest, "database", "batch_get_documents", True),
    "commit": (CommitRequest, "database", "commit", False),
    "beginTransaction": (BeginTransactionRequest, "database", "begin_transaction", False),
    "rollback": (RollbackRequest, "database", "rollback", False),
    "runQuery": (RunQueryRequest, "parent", "run_query", True),
    "runAggregationQuery": (RunAggregationQueryRequest, "parent", "run_aggregation_query", True),
}


def is_rest_path(path: str) -> bool:
    return path.startswith("/v1/")


def _database_of(resource: str) -> str:
    return resource.rsplit("/documents", 1)[0]


def handle(
    service: Any, method: str, path: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int, Any]:
    """(HTTP status, JSON-able body) of one REST call."""
    context = HttpCallContext(headers)
    try:
        if method == "GET":
            match = _DOCUMENT.match(path)
            if match is None:
                return _not_found(path)
            request = GetDocumentRequest(name=match.group(1))
            return 200, to_json(service.get_document(request, context))
        match = _CALL.match(path)
        if method != "POST" or match is None or match.group(2) not in _METHODS:
            return _not_found(path)
        resource, verb = match.groups()
        request_class, field, service_method, streams = _METHODS[verb]
        request = parse_request(body, request_class)
        if field == "database":
            if resource.count("/") != 4:
                return _not_found(path)
            request.database = request.database or _database_of(resource)
        else:
            request.parent = request.parent or resource
        call: Callable[[Any, HttpCallContext], Any] = getattr(service, service_method)
        if streams:
            return 200, [to_json(response) for response in call(request, context)]
        return 200, to_json(call(request, context))
    except EmulatorError as exc:
        return http_status(exc.code), error_body(exc.code, exc.message)


def _not_found(path: str) -> tuple[int, Any]:
    return 404, error_body(grpc.StatusCode.NOT_FOUND, f"No such REST method: {path}")
