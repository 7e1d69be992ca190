"""Depth and complexity of an operation, judged before it runs (a refusal costs no read).

Depth counts nested selection sets (fragments inlined; introspection's `__schema`/`__type`
subtrees are bounded by graphql-core's own introspection depth rule instead). Complexity is
the number of fields the operation can resolve: each field costs 1, and a list field multiplies
its children's cost by its page size (`first`, else the list's default bound). The caller is
metered by complexity (aide.entrypoints.graphql_http).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)

MAX_DEPTH: Final = 8
MAX_COMPLEXITY: Final = 2_000
# How many items a list field without `first` is counted as (the bound its resolver applies).
DEFAULT_LIST_SIZE: Final = 20
LIST_SIZES: Final = {"agents": 100, "events": 100, "taskGroups": 20, "history": 30}
INTROSPECTION_FIELDS: Final = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Cost:
    depth: int
    complexity: int


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value = value_from_ast_untyped(argument.value, variables)
            if isinstance(value, int) and value >= 0:
                return value
    return LIST_SIZES.get(field.name.value, DEFAULT_LIST_SIZE)


_LIST_FIELDS: Final = frozenset(
    {
        "agents",
        "tasks",
        "taskGroups",
        "projects",
        "events",
        "dependencyTasks",
        "subtasks",
        "history",
    }
)


class _Measure:
    def __init__(
        self, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self.fragments = fragments
        self.variables = variables

    def selection(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> Cost:
        depth, complexity = 0, 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                if node.name.value in INTROSPECTION_FIELDS:
                    continue
                inner = self.selection(node.selection_set, seen)
                # A connection (tasks, projects) is counted by its `first`; its edges and
                # nodes are that page, not another multiplication.
                multiplier = (
                    _page_size(node, self.variables) if node.name.value in _LIST_FIELDS else 1
                )
                depth = max(depth, 1 + inner.depth if node.selection_set else 0)
                complexity += 1 + multiplier * inner.complexity
            elif isinstance(node, InlineFragmentNode):
                inner = self.selection(node.selection_set, seen)
                depth, complexity = max(depth, inner.depth), complexity + inner.complexity
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # validation reports unknown and cyclic fragments
                inner = self.selection(fragment.selection_set, seen | {name})
                depth, complexity = max(depth, inner.depth), complexity + inner.complexity
        return Cost(depth, complexity)


def measure(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None = None,
) -> Cost:
    inner = _Measure(fragments, variables or {}).selection(operation.selection_set, frozenset())
    return Cost(depth=inner.depth + 1, complexity=inner.complexity)


def check(cost: Cost) -> list[GraphQLError]:
    """The refusals for an operation over the limits (empty when within them)."""
    errors = []
    if cost.depth > MAX_DEPTH:
        errors.append(
            GraphQLError(
                f"Query depth {cost.depth} exceeds the maximum of {MAX_DEPTH}",
                extensions={
                    "code": "QUERY_TOO_DEEP",
                    "details": {"depth": cost.depth, "maxDepth": MAX_DEPTH},
                },
            )
        )
    if cost.complexity > MAX_COMPLEXITY:
        errors.append(
            GraphQLError(
                f"Query complexity {cost.complexity} exceeds the maximum of {MAX_COMPLEXITY}",
                extensions={
                    "code": "QUERY_TOO_COMPLEX",
                    "details": {"complexity": cost.complexity, "maxComplexity": MAX_COMPLEXITY},
                },
            )
        )
    return errors
