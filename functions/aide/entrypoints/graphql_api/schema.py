"""The executable schema: SDL generated from the models plus operations.graphql, and resolvers
bound to it, each guarded (API-key scope checked first, refusals as GraphQL errors). Fields
without a resolver of their own read the source's attribute and need no guard: no middleware
runs per field, which would cost more than the REST page's whole serialisation."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from graphql import (
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
)
from pydantic import BaseModel

from aide.domain.access import authorize
from aide.domain.agents import Agent
from aide.domain.projects import Project, ProjectCreate, ProjectUpdate
from aide.domain.task_events import TaskEvent
from aide.domain.task_groups import TaskGroup, TaskGroupCreate
from aide.domain.tasks import Task, TaskCreate
from aide.domain.usage import UsageReport
from aide.domain.users import User, UserRole
from aide.entrypoints.graphql_api import resolvers
from aide.entrypoints.graphql_api.context import context_of
from aide.entrypoints.graphql_api.errors import service_errors
from aide.entrypoints.graphql_api.resolvers import Resolver
from aide.entrypoints.graphql_api.types_from_models import SdlBuilder, enum_name, field_names

OPERATIONS_SDL: Final = Path(__file__).with_name("operations.graphql")
OBJECT_MODELS: Final[tuple[type[BaseModel], ...]] = (
    User,
    Agent,
    Task,
    TaskGroup,
    Project,
    UsageReport,
    TaskEvent,
)
INPUT_MODELS: Final[tuple[type[BaseModel], ...]] = (
    TaskCreate,
    TaskGroupCreate,
    ProjectCreate,
    ProjectUpdate,
)

# The API-key scope each field needs (an ID token holds every scope), as the REST operation
# reading or changing the same thing declares it. Joins into another resource need its scope too.
FIELD_SCOPES: Final[dict[tuple[str, str], str]] = {
    ("Query", "me"): "users:read",
    ("Query", "usage"): "users:read",
    ("Query", "agents"): "agents:read",
    ("Query", "agent"): "agents:read",
    ("Query", "tasks"): "tasks:read",
    ("Query", "task"): "tasks:read",
    ("Query", "taskGroup"): "task_groups:read",
    ("Query", "taskGroups"): "task_groups:read",
    ("Query", "projects"): "projects:read",
    ("Query", "project"): "projects:read",
    ("Task", "agent"): "agents:read",
    ("Mutation", "createTask"): "tasks:write",
    ("Mutation", "cancelTask"): "tasks:write",
    ("Mutation", "retryTask"): "tasks:write",
    ("Mutation", "createTaskGroup"): "task_groups:write",
    ("Mutation", "cancelTaskGroup"): "task_groups:write",
    ("Mutation", "createProject"): "projects:write",
    ("Mutation", "updateProject"): "projects:write",
    ("Mutation", "deleteProject"): "projects:write",
    ("Mutation", "addProjectMember"): "projects:write",
    ("Mutation", "removeProjectMember"): "projects:write",
    ("Subscription", "taskUpdated"): "tasks:read",
    ("Subscription", "taskEvents"): "tasks:read",
    ("Subscription", "taskGroupUpdated"): "task_groups:read",
    ("Subscription", "agentStatusChanged"): "agents:read",
}


def _sdl() -> tuple[str, SdlBuilder]:
    """The whole schema as SDL (types from the models, then the operations) and its builder."""
    builder = SdlBuilder()
    for model in OBJECT_MODELS:
        builder.type_ref(model, as_input=False)
    for model in INPUT_MODELS:
        builder.type_ref(model, as_input=True)
    return builder.render() + "\n" + OPERATIONS_SDL.read_text(encoding="utf-8"), builder


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _serialize_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Long cannot represent {value!r}")
    return int(value)


def _serialize_json(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value


def _identity(value: Any) -> Any:
    return value


def _json_literal(node: Any, variables: Any = None) -> Any:
    from graphql import value_from_ast_untyped

    return value_from_ast_untyped(node, variables)


def _bind_scalars(schema: GraphQLSchema) -> None:
    scalars = {
        "DateTime": _serialize_datetime,
        "Long": _serialize_long,
        "JSON": _serialize_json,
    }
    for name, serialize in scalars.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        # graphql-core 3.3 calls the coerce_* names; older code paths the serialize/parse ones.
        scalar.serialize = scalar.coerce_output_value = serialize  # type: ignore[method-assign]
        if name == "JSON":
            scalar.parse_value = scalar.coerce_input_value = _identity  # type: ignore[method-assign]
            scalar.parse_literal = _json_literal  # type: ignore[method-assign]


def _bind_enums(schema: GraphQLSchema, builder: SdlBuilder) -> None:
    for name, enum in builder.enums.items():
        graphql_enum = schema.type_map[name]
        assert isinstance(graphql_enum, GraphQLEnumType)
        for member in enum:
            value = graphql_enum.values[enum_name(member.value)]
            assert isinstance(value, GraphQLEnumValue)
            value.value = member
        # The value lookup was built from the SDL's defaults (the names): rebuild it.
        graphql_enum.__dict__.pop("_value_lookup", None)


def guarded(resolver: Resolver, scope: str | None) -> Resolver:
    """`resolver` with the field's API-key scope checked first and refusals mapped."""

    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        with service_errors():
            if scope is not None:
                authorize(context_of(info).principal, required_role=UserRole.USER, scope=scope)
            return resolver(source, info, **args)

    return resolve


def _bind_resolvers(schema: GraphQLSchema) -> None:
    tables = {"Query": resolvers.QUERY, "Mutation": resolvers.MUTATION, "Task": resolvers.TASK}
    for type_name, table in tables.items():
        owner = schema.type_map[type_name]
        assert isinstance(owner, GraphQLObjectType)
        for field_name, resolver in table.items():
            scope = FIELD_SCOPES.get((type_name, field_name))
            owner.fields[field_name].resolve = guarded(resolver, scope)
    # A scope on a field left to the default resolver would never be checked. Subscription
    # fields are checked once, when their stream opens (graphql_api.subscriptions).
    unguarded = sorted(
        (type_name, field_name)
        for type_name, field_name in FIELD_SCOPES
        if type_name != "Subscription" and field_name not in tables.get(type_name, {})
    )
    assert not unguarded, f"fields with a scope but no resolver: {unguarded}"


@cache
def _attribute_names(owner: Any) -> dict[str, str]:
    return field_names(owner)


def default_field_resolver(source: Any, info: GraphQLResolveInfo, **_: Any) -> Any:
    """A model's or dataclass's field by its GraphQL (camelCase) name; a dict's by key."""
    name = info.field_name
    if isinstance(source, dict):
        return source.get(name)
    attribute = _attribute_names(type(source)).get(name)  # type: ignore[arg-type]
    return None if attribute is None else getattr(source, attribute, None)


@cache
def executable_schema() -> GraphQLSchema:
    sdl, builder = _sdl()
    schema = build_schema(sdl)
    _bind_scalars(schema)
    _bind_enums(schema, builder)
    _bind_resolvers(schema)
    return schema


def printed_schema() -> str:
    """shared/schema.graphql: the executable schema as clients see it."""
    from graphql import print_schema

    return print_schema(executable_schema()) + "\n"
