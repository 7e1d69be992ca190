"""The GraphQL schema follows the pydantic models field for field, and the depth/complexity
measure counts what an operation can resolve."""

from __future__ import annotations

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    OperationDefinitionNode,
    parse,
)

from aide.entrypoints.graphql_api import limits
from aide.entrypoints.graphql_api.schema import INPUT_MODELS, OBJECT_MODELS, executable_schema
from aide.entrypoints.graphql_api.types_from_models import enum_name, field_names, type_name


@pytest.mark.parametrize("model", OBJECT_MODELS, ids=lambda m: m.__name__)
def test_object_types_have_every_model_field(model: type) -> None:
    graphql_type = executable_schema().type_map[type_name(model)]
    assert isinstance(graphql_type, GraphQLObjectType)
    assert set(field_names(model)) <= set(graphql_type.fields)


@pytest.mark.parametrize("model", INPUT_MODELS, ids=lambda m: m.__name__)
def test_input_types_are_the_request_models(model: type) -> None:
    graphql_type = executable_schema().type_map[f"{type_name(model)}Input"]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    assert set(field_names(model)) == set(graphql_type.fields)


def test_enums_carry_the_stored_values() -> None:
    from aide.domain.task_lifecycle import TaskStatus

    status = executable_schema().type_map["TaskStatus"]
    assert isinstance(status, GraphQLEnumType)
    assert {name: value.value for name, value in status.values.items()} == {
        enum_name(member.value): member for member in TaskStatus
    }


def _cost(query: str, variables: dict[str, object] | None = None) -> limits.Cost:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return limits.measure(operation, fragments, variables)


def test_depth_counts_nested_selections_through_fragments() -> None:
    assert _cost("{ me { uid } }").depth == 2
    assert _cost("{ task(id: 1) { agent { limits { maxSteps } } } }").depth == 4
    query = "{ task(id: 1) { ...F } } fragment F on Task { agent { id } }"
    assert _cost(query).depth == 3


def test_complexity_multiplies_lists_by_their_page() -> None:
    assert _cost("{ me { uid email } }").complexity == 3
    # tasks(first: 10): 1 + 10 x (nodes 1 + (id 1 + agent (1 + name 1)))
    assert _cost("{ tasks(first: 10) { nodes { id agent { name } } } }").complexity == 41
    assert _cost("query($n: Int) { tasks(first: $n) { nodes { id } } }", {"n": 5}).complexity == 11
    assert _cost("{ __schema { types { name } } }").complexity == 0


def test_limits_refuse_with_codes() -> None:
    assert limits.check(limits.Cost(depth=limits.MAX_DEPTH, complexity=1)) == []
    deep, wide = limits.check(limits.Cost(depth=99, complexity=10**6))
    assert deep.extensions and deep.extensions["code"] == "QUERY_TOO_DEEP"
    assert wide.extensions and wide.extensions["code"] == "QUERY_TOO_COMPLEX"
