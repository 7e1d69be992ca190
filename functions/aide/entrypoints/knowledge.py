"""knowledge: the project knowledge graph over HTTP (the MCP memory operations and queryKnowledge).

    POST /entities              create entities (with observations); existing names are skipped
    POST /entities:delete       delete entities, their observations and relations
    POST /relations             create relations (`supersede` closes the previous ones)
    POST /relations:close       end open relations at `validTo`
    POST /relations:delete      delete open relations
    POST /observations          add observations
    POST /observations:delete   delete observations
    GET  /graph                 the whole graph (`asOf` for relations at a moment)
    GET  /nodes?names=..        open nodes by name (repeat `names`)
    POST /search                MCP search_nodes: name, type or observation contains the query
    POST /query                 queryKnowledge: hybrid semantic + keyword search
    GET  /stats                 the scope's storage and counts

Every call takes an optional `projectId` (body or query string): without it the caller's own
knowledge, with it the project's, readable and writable by whoever may read the project.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Request, Response

from aide.adapters.embeddings import Embedder, EmbeddingError, get_embedder
from aide.adapters.firestore_client import get_firestore
from aide.domain.knowledge import (
    EntitiesCreate,
    EntitiesDelete,
    GraphRead,
    KnowledgeQuery,
    NodesOpen,
    NodesSearch,
    ObservationsAdd,
    ObservationsDelete,
    RelationsClose,
    RelationsCreate,
    RelationsDelete,
    ScopeRead,
    ScopeStatsView,
    WriteResult,
)
from aide.domain.quota import QuotaExhausted
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.errors import QuotaExceeded, Unavailable, ValidationFailed
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import parse_body, query_params, validate
from aide.entrypoints.routing import Router
from aide.services import knowledge, knowledge_search
from aide.services.knowledge import InvalidKnowledgeInput, KnowledgeScope, StorageBudget
from aide.services.knowledge_quota import QuotaStorageBudget

router = Router("knowledge")
READ = "knowledge:read"
WRITE = "knowledge:write"


def _scope(principal: Principal, project_id: str | None) -> KnowledgeScope:
    return knowledge.resolve_scope(get_firestore(), principal.uid, project_id)


def _writable_scope(principal: Principal, project_id: str | None) -> KnowledgeScope:
    return knowledge.resolve_writable_scope(get_firestore(), principal.uid, project_id)


def _embedder() -> Embedder:
    try:
        return get_embedder()
    except EmbeddingError as error:
        raise Unavailable("Embedding model unavailable") from error


def _invalid(error: InvalidKnowledgeInput) -> ValidationFailed:
    return ValidationFailed(error.message, details=error.details)


def _write(scope: KnowledgeScope, operation: Callable[[StorageBudget], WriteResult]) -> Response:
    """Runs a write charged to the scope owner's storage quota, rendering its refusals."""
    try:
        return success(operation(QuotaStorageBudget(get_firestore(), scope.user_id)))
    except InvalidKnowledgeInput as error:
        raise _invalid(error) from error
    except EmbeddingError as error:
        raise Unavailable("Embedding model unavailable") from error
    except QuotaExhausted as error:
        raise QuotaExceeded(details=error.body()) from error


@router.route("POST", "/entities")
@authenticated(scope=WRITE)
def create_entities(request: Request, principal: Principal) -> Response:
    body = parse_body(request, EntitiesCreate)
    scope = _writable_scope(principal, body.project_id)
    embedder = _embedder()
    return _write(
        scope,
        lambda budget: knowledge.create_entities(
            get_firestore(), embedder, scope, body.entities, budget=budget
        ),
    )


@router.route("POST", "/entities:delete")
@authenticated(scope=WRITE)
def delete_entities(request: Request, principal: Principal) -> Response:
    body = parse_body(request, EntitiesDelete)
    scope = _writable_scope(principal, body.project_id)
    return _write(
        scope,
        lambda budget: knowledge.delete_entities(
            get_firestore(), scope, body.entity_names, budget=budget
        ),
    )


@router.route("POST", "/relations")
@authenticated(scope=WRITE)
def create_relations(request: Request, principal: Principal) -> Response:
    body = parse_body(request, RelationsCreate)
    scope = _writable_scope(principal, body.project_id)
    return _write(
        scope,
        lambda budget: knowledge.create_relations(
            get_firestore(), scope, body.relations, budget=budget
        ),
    )


@router.route("POST", "/relations:close")
@authenticated(scope=WRITE)
def close_relations(request: Request, principal: Principal) -> Response:
    body = parse_body(request, RelationsClose)
    scope = _writable_scope(principal, body.project_id)
    return _write(
        scope,
        lambda budget: knowledge.close_relations(
            get_firestore(), scope, body.relations, budget=budget
        ),
    )


@router.route("POST", "/relations:delete")
@authenticated(scope=WRITE)
def delete_relations(request: Request, principal: Principal) -> Response:
    body = parse_body(request, RelationsDelete)
    scope = _writable_scope(principal, body.project_id)
    return _write(
        scope,
        lambda budget: knowledge.delete_relations(
            get_firestore(), scope, body.relations, budget=budget
        ),
    )


@router.route("POST", "/observations")
@authenticated(scope=WRITE)
def add_observations(request: Request, principal: Principal) -> Response:
    body = parse_body(request, ObservationsAdd)
    scope = _writable_scope(principal, body.project_id)
    embedder = _embedder()
    return _write(
        scope,
        lambda budget: knowledge.add_observations(
            get_firestore(), embedder, scope, body.observations, budget=budget
        ),
    )


@router.route("POST", "/observations:delete")
@authenticated(scope=WRITE)
def delete_observations(request: Request, principal: Principal) -> Response:
    body = parse_body(request, ObservationsDelete)
    scope = _writable_scope(principal, body.project_id)
    return _write(
        scope,
        lambda budget: knowledge.delete_observations(
            get_firestore(), scope, body.deletions, budget=budget
        ),
    )


@router.route("GET", "/graph")
@authenticated(scope=READ)
def read_graph(request: Request, principal: Principal) -> Response:
    params = validate(GraphRead, query_params(request))
    scope = _scope(principal, params.project_id)
    return success(knowledge_search.read_graph(get_firestore(), scope, params.as_of))


@router.route("GET", "/nodes")
@authenticated(scope=READ)
def open_nodes(request: Request, principal: Principal) -> Response:
    params = validate(NodesOpen, query_params(request, repeatable={"names"}))
    scope = _scope(principal, params.project_id)
    return success(knowledge_search.open_nodes(get_firestore(), scope, params.names, params.as_of))


@router.route("POST", "/search")
@authenticated(scope=READ)
def search_nodes(request: Request, principal: Principal) -> Response:
    body = parse_body(request, NodesSearch)
    scope = _scope(principal, body.project_id)
    return success(knowledge_search.search_nodes(get_firestore(), scope, body.query))


@router.route("POST", "/query")
@authenticated(scope=READ)
def query_knowledge(request: Request, principal: Principal) -> Response:
    body = parse_body(request, KnowledgeQuery)
    scope = _scope(principal, body.project_id)
    try:
        result = knowledge_search.query_knowledge(get_firestore(), _embedder(), scope, body)
    except EmbeddingError as error:
        raise Unavailable("Embedding model unavailable") from error
    return success(result)


@router.route("GET", "/stats")
@authenticated(scope=READ)
def scope_stats(request: Request, principal: Principal) -> Response:
    params = validate(ScopeRead, query_params(request))
    scope = _scope(principal, params.project_id)
    stats = knowledge.scope_stats(get_firestore(), scope)
    return success(
        ScopeStatsView(
            project_id=stats.project_id,
            storage_bytes=stats.storage_bytes,
            entity_count=stats.entity_count,
            relation_count=stats.relation_count,
            observation_count=stats.observation_count,
        )
    )


def serve(request: Request) -> Response:
    return handle(request, router)
