"""A loaded rules file and the decision for one request on one document.

A request is allowed when any ``allow`` statement for its method, in any match block whose
full path (the concatenation of the nested match paths) matches the document path, evaluates
to true. A statement whose condition raises an evaluation error counts as false.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulators.firestore.rules import syntax as ast
from emulators.firestore.rules.errors import EvaluationError, RulesSyntaxError
from emulators.firestore.rules.evaluator import (
    GLOBAL_FUNCTIONS,
    METHOD_NAMES,
    NAMESPACE_FUNCTIONS,
    NAMESPACES,
    DocumentReader,
    Evaluation,
    Scope,
    evaluate,
)
from emulators.firestore.rules.parser import parse
from emulators.firestore.rules.values import TYPE_NAMES, RulesPath

METHODS = ("get", "list", "create", "update", "delete")
_GLOBAL_VARIABLES = frozenset({"request", "resource"})


class Ruleset:
    """``Ruleset.load(text)`` parses and checks a rules file; raises ``RulesSyntaxError``."""

    def __init__(self, service: ast.Service, source: str) -> None:
        self.service = service
        self.source = source

    @classmethod
    def load(cls, source: str) -> Ruleset:
        service = parse(source)
        _check_block(service.root, frozenset(_GLOBAL_VARIABLES), [])
        return cls(service, source)

    def allows(
        self,
        method: str,
        path: RulesPath,
        request: dict[str, Any],
        resource: Any,
        reader: DocumentReader,
    ) -> bool:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        root = self.service.root
        root_scope = Scope({"request": request, "resource": resource}, root.functions)
        state = Evaluation(reader)
        for block, scope in _matching_blocks(root, path.segments, 0, root_scope):
            for allow in block.allows:
                if method not in allow.methods:
                    continue
                if allow.condition is None:
                    return True
                try:
                    if evaluate(allow.condition, scope, state) is True:
                        return True
                except (
                    EvaluationError,
                    RecursionError,
                    ArithmeticError,
                    LookupError,
                    TypeError,
                    ValueError,
                ):
                    # Python errors on values the evaluator did not anticipate are error
                    # values too: the clause is false, never a crashed request.
                    continue
        return False


def _matching_blocks(
    block: ast.MatchBlock, segments: tuple[str, ...], position: int, scope: Scope
) -> Iterator[tuple[ast.MatchBlock, Scope]]:
    for child in block.matches:
        for bindings, end in _match(child.pattern, 0, segments, position):
            child_scope = Scope(bindings, child.functions, parent=scope)
            if end == len(segments):
                yield child, child_scope
            else:
                yield from _matching_blocks(child, segments, end, child_scope)


def _match(
    pattern: tuple[ast.Segment, ...], index: int, segments: tuple[str, ...], position: int
) -> Iterator[tuple[dict[str, Any], int]]:
    """Every way ``pattern[index:]`` matches a prefix of ``segments[position:]``."""
    if index == len(pattern):
        yield {}, position
        return
    segment = pattern[index]
    if segment.recursive:
        # rules_version 2: {name=**} matches zero or more segments; longest first.
        for end in range(len(segments), position - 1, -1):
            for bindings, final in _match(pattern, index + 1, segments, end):
                yield {segment.text: RulesPath(segments[position:end]), **bindings}, final
        return
    if position >= len(segments):
        return
    value = segments[position]
    if not segment.wildcard and segment.text != value:
        return
    for bindings, final in _match(pattern, index + 1, segments, position + 1):
        if segment.wildcard:
            bindings = {segment.text: value, **bindings}
        yield bindings, final


# ---------------------------------------------------------------------- load-time checks
def _check_block(
    block: ast.MatchBlock,
    variables: frozenset[str],
    function_scopes: list[dict[str, ast.FunctionDef]],
) -> None:
    names = set(variables)
    seen: set[str] = set()
    for segment in block.pattern:
        if segment.wildcard:
            if segment.text in seen:
                raise RulesSyntaxError(f"wildcard {{{segment.text}}} is used twice", block.line)
            seen.add(segment.text)
            names.add(segment.text)
    scopes = [*function_scopes, block.functions]
    visible = frozenset(names)
    for function in block.functions.values():
        local = set(visible) | set(function.params)
        for let_name, let_expr in function.lets:
            _check_expr(let_expr, frozenset(local), scopes)
            local.add(let_name)
        _check_expr(function.body, frozenset(local), scopes)
    for allow in block.allows:
        if allow.condition is not None:
            _check_expr(allow.condition, visible, scopes)
    for child in block.matches:
        _check_block(child, visible, scopes)


def _check_expr(
    expr: ast.Expr, variables: frozenset[str], functions: list[dict[str, ast.FunctionDef]]
) -> None:
    def fail(message: str) -> None:
        raise RulesSyntaxError(message, expr.line)

    if isinstance(expr, ast.Name):
        if expr.name not in variables and expr.name not in NAMESPACES:
            fail(f"unknown variable {expr.name!r}")
    elif isinstance(expr, ast.Call):
        target = expr.function
        if isinstance(target, ast.Name):
            declared = next((s[target.name] for s in functions if target.name in s), None)
            if declared is not None:
                if len(declared.params) != len(expr.args):
                    fail(
                        f"function {target.name} takes {len(declared.params)} arguments, "
                        f"called with {len(expr.args)}"
                    )
            elif target.name not in GLOBAL_FUNCTIONS:
                fail(f"unknown or unsupported function {target.name}()")
        elif isinstance(target, ast.Member):
            if isinstance(target.target, ast.Name) and target.target.name in NAMESPACES:
                qualified = f"{target.target.name}.{target.name}"
                if qualified not in NAMESPACE_FUNCTIONS:
                    fail(f"unsupported function {qualified}()")
            else:
                if target.name not in METHOD_NAMES:
                    fail(f"unsupported method .{target.name}()")
                _check_expr(target.target, variables, functions)
        else:
            fail("only named functions and methods can be called")
        for arg in expr.args:
            _check_expr(arg, variables, functions)
        return
    elif isinstance(expr, ast.IsType) and expr.type_name not in TYPE_NAMES:
        fail(f"unknown type {expr.type_name!r} after 'is'")
    for child in _children(expr):
        _check_expr(child, variables, functions)


def _children(expr: ast.Expr) -> list[ast.Expr]:
    if isinstance(expr, ast.Member):
        return [expr.target]
    if isinstance(expr, ast.Index):
        return [expr.target, expr.index]
    if isinstance(expr, ast.Slice):
        return [expr.target, expr.start, expr.end]
    if isinstance(expr, ast.Unary):
        return [expr.operand]
    if isinstance(expr, ast.Binary):
        return [expr.left, expr.right]
    if isinstance(expr, ast.IsType):
        return [expr.operand]
    if isinstance(expr, ast.Conditional):
        return [expr.condition, expr.then, expr.otherwise]
    if isinstance(expr, ast.ListLiteral):
        return list(expr.items)
    if isinstance(expr, ast.MapLiteral):
        return [part for entry in expr.entries for part in entry]
    if isinstance(expr, ast.PathLiteral):
        return [s for s in expr.segments if isinstance(s, ast.Expr)]
    return []
