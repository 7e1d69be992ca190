"""Expression evaluation with Firestore's semantics.

Any error (a missing field, a wrong type, a null dereference, a failed ``get``) raises
``EvaluationError``; the allow clause being evaluated is then false. ``&&`` and ``||`` absorb an
error when the other operand decides the result (``error || true`` is true), as Firestore does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from emulators.firestore.rules import syntax as ast
from emulators.firestore.rules.errors import EvaluationError
from emulators.firestore.rules.values import (
    TYPE_NAMES,
    Duration,
    LatLng,
    MapDiff,
    RulesPath,
    RulesSet,
    Timestamp,
    equal,
    is_number,
    type_of,
)

# Firestore allows 10 document accesses per single-document request (20 for batches).
MAX_DOCUMENT_ACCESSES = 20
_MAX_CALL_DEPTH = 20
_NANOS = 1_000_000_000
_INT64 = 2**63


class DocumentReader(Protocol):
    """What ``get()`` / ``exists()`` read: the store now, or as it will be after the writes."""

    def get(self, path: RulesPath) -> dict[str, Any] | None: ...
    def get_after(self, path: RulesPath) -> dict[str, Any] | None: ...


@dataclass
class Scope:
    variables: dict[str, Any]
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.variables:
                return scope.variables[name]
            scope = scope.parent
        raise EvaluationError(f"unknown variable {name!r}")

    def function(self, name: str) -> tuple[ast.FunctionDef, Scope] | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name], scope
            scope = scope.parent
        return None


@dataclass
class Evaluation:
    """State of evaluating one request against one document: its reader and access count."""

    reader: DocumentReader
    accessed: set[tuple[str, RulesPath]] = field(default_factory=set)
    depth: int = 0


class _Namespace:
    def __init__(self, name: str) -> None:
        self.name = name


NAMESPACES = {name: _Namespace(name) for name in ("math", "duration", "timestamp", "latlng")}


def truthy(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"expected a bool, got {type_of(value)}")
    return value


def evaluate(expr: ast.Expr, scope: Scope, state: Evaluation) -> Any:
    method = _DISPATCH.get(type(expr))
    if method is None:
        raise EvaluationError(f"unsupported expression {type(expr).__name__}")
    return method(expr, scope, state)


def _literal(expr: ast.Literal, scope: Scope, state: Evaluation) -> Any:
    return expr.value


def _name(expr: ast.Name, scope: Scope, state: Evaluation) -> Any:
    if expr.name in NAMESPACES:
        return NAMESPACES[expr.name]
    return scope.lookup(expr.name)


def _member(expr: ast.Member, scope: Scope, state: Evaluation) -> Any:
    target = evaluate(expr.target, scope, state)
    if isinstance(target, dict):
        if expr.name not in target:
            raise EvaluationError(f"Property {expr.name} is undefined on object.")
        return target[expr.name]
    if target is None:
        raise EvaluationError(f"Null value error: .{expr.name} of null")
    raise EvaluationError(f"{type_of(target)} has no property {expr.name}")


def _index(expr: ast.Index, scope: Scope, state: Evaluation) -> Any:
    target = evaluate(expr.target, scope, state)
    index = evaluate(expr.index, scope, state)
    if isinstance(target, dict):
        if not isinstance(index, str) or index not in target:
            raise EvaluationError(f"Property {index!r} is undefined on object.")
        return target[index]
    if isinstance(target, (list, str)):
        return _sequence_item(target, index)
    if isinstance(target, RulesPath):
        if isinstance(index, str):
            raise EvaluationError("path bindings by name are not supported")
        return _sequence_item(list(target.segments), index)
    raise EvaluationError(f"cannot index {type_of(target)}")


def _sequence_item(items: Any, index: Any) -> Any:
    if not isinstance(index, int) or isinstance(index, bool):
        raise EvaluationError("index must be an int")
    if not 0 <= index < len(items):
        raise EvaluationError(f"index {index} out of range")
    return items[index]


def _slice(expr: ast.Slice, scope: Scope, state: Evaluation) -> Any:
    target = evaluate(expr.target, scope, state)
    start = evaluate(expr.start, scope, state)
    end = evaluate(expr.end, scope, state)
    if not isinstance(target, (list, str)):
        raise EvaluationError(f"cannot slice {type_of(target)}")
    if not (type_of(start) == "int" and type_of(end) == "int" and 0 <= start <= end):
        raise EvaluationError("invalid range")
    if end > len(target):
        raise EvaluationError("range out of bounds")
    return target[start:end]


def _unary(expr: ast.Unary, scope: Scope, state: Evaluation) -> Any:
    value = evaluate(expr.operand, scope, state)
    if expr.op == "!":
        return not truthy(value)
    if is_number(value):
        return -value
    if isinstance(value, Duration):
        return Duration(-value.nanos)
    raise EvaluationError(f"cannot negate {type_of(value)}")


def _conditional(expr: ast.Conditional, scope: Scope, state: Evaluation) -> Any:
    if truthy(evaluate(expr.condition, scope, state)):
        return evaluate(expr.then, scope, state)
    return evaluate(expr.otherwise, scope, state)


def _is_type(expr: ast.IsType, scope: Scope, state: Evaluation) -> Any:
    value = evaluate(expr.operand, scope, state)
    wanted = TYPE_NAMES[expr.type_name]
    actual = type_of(value)
    if wanted == "number":
        return actual in ("int", "float")
    return actual == wanted


def _list(expr: ast.ListLiteral, scope: Scope, state: Evaluation) -> Any:
    return [evaluate(item, scope, state) for item in expr.items]


def _map(expr: ast.MapLiteral, scope: Scope, state: Evaluation) -> Any:
    result: dict[str, Any] = {}
    for key_expr, value_expr in expr.entries:
        key = evaluate(key_expr, scope, state)
        if not isinstance(key, str):
            raise EvaluationError("map keys must be strings")
        result[key] = evaluate(value_expr, scope, state)
    return result


def _path(expr: ast.PathLiteral, scope: Scope, state: Evaluation) -> Any:
    segments: list[str] = []
    for segment in expr.segments:
        if isinstance(segment, str):
            segments.append(segment)
            continue
        value = evaluate(segment, scope, state)
        if isinstance(value, RulesPath):
            segments.extend(value.segments)
        elif isinstance(value, str) or (is_number(value)):
            text = str(value)
            segments.extend(part for part in text.split("/") if part)
        else:
            raise EvaluationError(f"cannot use {type_of(value)} in a path")
    return RulesPath(tuple(segments))


# ---------------------------------------------------------------------- operators
def _binary(expr: ast.Binary, scope: Scope, state: Evaluation) -> Any:
    op = expr.op
    if op in ("&&", "||"):
        return _logical(expr, scope, state)
    left = evaluate(expr.left, scope, state)
    right = evaluate(expr.right, scope, state)
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if op in ("<", "<=", ">", ">="):
        return _compare(op, left, right)
    if op == "in":
        return _contains(right, left)
    return _arithmetic(op, left, right)


def _logical(expr: ast.Binary, scope: Scope, state: Evaluation) -> bool:
    decisive = expr.op == "||"  # the left value that decides without the right
    try:
        left = truthy(evaluate(expr.left, scope, state))
    except EvaluationError:
        right = truthy(evaluate(expr.right, scope, state))
        if right == decisive:
            return decisive
        raise
    if left == decisive:
        return decisive
    return truthy(evaluate(expr.right, scope, state))


def _compare(op: str, left: Any, right: Any) -> bool:
    comparable = (is_number(left) and is_number(right)) or (
        type_of(left) == type_of(right)
        and type_of(left) in ("string", "timestamp", "duration", "bytes")
    )
    if not comparable:
        raise EvaluationError(f"cannot compare {type_of(left)} and {type_of(right)}")
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    if isinstance(container, RulesSet):
        return item in container
    raise EvaluationError(f"'in' needs a list, map or set, not {type_of(container)}")


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        both_int = isinstance(left, int) and isinstance(right, int)
        if op == "+":
            return _int64(left + right) if both_int else float(left + right)
        if op == "-":
            return _int64(left - right) if both_int else float(left - right)
        if op == "*":
            return _int64(left * right) if both_int else float(left * right)
        if op == "/":
            if both_int:
                if right == 0:
                    raise EvaluationError("division by zero")
                return int(left / right) if left * right < 0 else left // right
            if right == 0:
                raise EvaluationError("division by zero")
            return left / right
        if op == "%":
            if not both_int or right == 0:
                raise EvaluationError("modulo needs non-zero ints")
            return int(math.fmod(left, right))
    if op == "+":
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        if isinstance(left, Timestamp) and isinstance(right, Duration):
            return Timestamp(left.nanos + right.nanos)
        if isinstance(left, Duration) and isinstance(right, Timestamp):
            return Timestamp(left.nanos + right.nanos)
        if isinstance(left, Duration) and isinstance(right, Duration):
            return Duration(left.nanos + right.nanos)
    if op == "-":
        if isinstance(left, Timestamp) and isinstance(right, Timestamp):
            return Duration(left.nanos - right.nanos)
        if isinstance(left, Timestamp) and isinstance(right, Duration):
            return Timestamp(left.nanos - right.nanos)
        if isinstance(left, Duration) and isinstance(right, Duration):
            return Duration(left.nanos - right.nanos)
    raise EvaluationError(f"cannot apply {op} to {type_of(left)} and {type_of(right)}")


def _int64(value: int) -> int:
    if not -_INT64 <= value < _INT64:
        raise EvaluationError("integer overflow")
    return value


# ---------------------------------------------------------------------- calls
def _call(expr: ast.Call, scope: Scope, state: Evaluation) -> Any:
    function = expr.function
    if isinstance(function, ast.Name):
        found = scope.function(function.name)
        if found is not None:
            return _call_user(found[0], found[1], expr.args, scope, state)
        builtin = GLOBAL_FUNCTIONS.get(function.name)
        if builtin is None:
            raise EvaluationError(f"unknown function {function.name}")
        args = [evaluate(arg, scope, state) for arg in expr.args]
        return builtin(state, *args)
    if isinstance(function, ast.Member):
        target = evaluate(function.target, scope, state)
        args = [evaluate(arg, scope, state) for arg in expr.args]
        if isinstance(target, _Namespace):
            namespaced = NAMESPACE_FUNCTIONS.get(f"{target.name}.{function.name}")
            if namespaced is None:
                raise EvaluationError(f"unknown function {target.name}.{function.name}")
            return _apply(namespaced, args)
        return call_method(target, function.name, args)
    raise EvaluationError("only named functions and methods can be called")


def _call_user(
    function: ast.FunctionDef,
    defined_in: Scope,
    arg_exprs: tuple[ast.Expr, ...],
    scope: Scope,
    state: Evaluation,
) -> Any:
    if len(arg_exprs) != len(function.params):
        raise EvaluationError(
            f"{function.name} takes {len(function.params)} arguments, got {len(arg_exprs)}"
        )
    if state.depth >= _MAX_CALL_DEPTH:
        raise EvaluationError("maximum function call depth exceeded")
    args = [evaluate(arg, scope, state) for arg in arg_exprs]
    local = Scope(dict(zip(function.params, args, strict=True)), parent=defined_in)
    state.depth += 1
    try:
        for name, value_expr in function.lets:
            local.variables[name] = evaluate(value_expr, local, state)
        return evaluate(function.body, local, state)
    finally:
        state.depth -= 1


def _apply(function: Callable[..., Any], args: list[Any]) -> Any:
    try:
        return function(*args)
    except EvaluationError:
        raise
    except (TypeError, ValueError, OverflowError, re.error, AttributeError) as exc:
        raise EvaluationError(str(exc)) from None


_DISPATCH: dict[type, Callable[[Any, Scope, Evaluation], Any]] = {
    ast.Literal: _literal,
    ast.Name: _name,
    ast.Member: _member,
    ast.Index: _index,
    ast.Slice: _slice,
    ast.Call: _call,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.IsType: _is_type,
    ast.Conditional: _conditional,
    ast.ListLiteral: _list,
    ast.MapLiteral: _map,
    ast.PathLiteral: _path,
}


# ---------------------------------------------------------------------- document access
def _document_path(path: Any) -> RulesPath:
    if not isinstance(path, RulesPath):
        raise EvaluationError("get() and exists() take a path")
    segments = path.segments
    if len(segments) < 5 or segments[0] != "databases" or segments[2] != "documents":
        raise EvaluationError(f"{path} is not a document path")
    if (len(segments) - 3) % 2:
        raise EvaluationError(f"{path} is not a document path")
    return path


def _count_access(state: Evaluation, kind: str, path: RulesPath) -> None:
    key = (kind, path)
    if key not in state.accessed:
        if len(state.accessed) >= MAX_DOCUMENT_ACCESSES:
            raise EvaluationError("too many document accesses")
        state.accessed.add(key)


def _get(state: Evaluation, path: Any) -> Any:
    path = _document_path(path)
    _count_access(state, "now", path)
    return state.reader.get(path)


def _get_after(state: Evaluation, path: Any) -> Any:
    path = _document_path(path)
    _count_access(state, "after", path)
    return state.reader.get_after(path)


def _exists(state: Evaluation, path: Any) -> bool:
    return _get(state, path) is not None


def _exists_after(state: Evaluation, path: Any) -> bool:
    return _get_after(state, path) is not None


def _debug(state: Evaluation, value: Any) -> Any:
    return value


def _to_int(state: Evaluation, value: Any) -> int:
    if is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise EvaluationError("cannot convert a non-finite float to int")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise EvaluationError(f"not an int: {value!r}") from None
    raise EvaluationError(f"cannot convert {type_of(value)} to int")


def _to_float(state: Evaluation, value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise EvaluationError(f"not a float: {value!r}") from None
    raise EvaluationError(f"cannot convert {type_of(value)} to float")


def _to_string(state: Evaluation, value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str, RulesPath)):
        return str(value)
    raise EvaluationError(f"cannot convert {type_of(value)} to string")


def _to_path(state: Evaluation, value: Any) -> RulesPath:
    if not isinstance(value, str):
        raise EvaluationError("path() takes a string")
    return RulesPath(tuple(part for part in value.split("/") if part))


GLOBAL_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "get": _get,
    "getAfter": _get_after,
    "exists": _exists,
    "existsAfter": _exists_after,
    "debug": _debug,
    "int": _to_int,
    "float": _to_float,
    "string": _to_string,
    "path": _to_path,
}


def _number(value: Any) -> float | int:
    if not is_number(value):
        raise EvaluationError(f"expected a number, got {type_of(value)}")
    return value  # type: ignore[no-any-return]


def _duration_value(amount: Any, unit: Any) -> Duration:
    scale = {"w": 604800 * _NANOS, "d": 86400 * _NANOS, "h": 3600 * _NANOS, "m": 60 * _NANOS,
             "s": _NANOS, "ms": 1_000_000, "ns": 1}  # fmt: skip
    if not isinstance(amount, int) or isinstance(amount, bool) or unit not in scale:
        raise EvaluationError("duration.value(int, unit) with unit w, d, h, m, s, ms or ns")
    return Duration(amount * scale[unit])


def _duration_time(hours: Any, minutes: Any, seconds: Any, nanos: Any) -> Duration:
    parts = [hours, minutes, seconds, nanos]
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        raise EvaluationError("duration.time takes ints")
    return Duration(((hours * 60 + minutes) * 60 + seconds) * _NANOS + nanos)


def _timestamp_date(year: Any, month: Any, day: Any) -> Timestamp:
    moment = datetime(year, month, day, tzinfo=UTC)
    return Timestamp(int(moment.timestamp()) * _NANOS)


def _timestamp_value(millis: Any) -> Timestamp:
    if not isinstance(millis, int) or isinstance(millis, bool):
        raise EvaluationError("timestamp.value takes epoch milliseconds")
    return Timestamp(millis * 1_000_000)


NAMESPACE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "math.abs": lambda x: abs(_number(x)),
    "math.ceil": lambda x: float(math.ceil(_number(x))),
    "math.floor": lambda x: float(math.floor(_number(x))),
    "math.round": lambda x: float(math.floor(_number(x) + 0.5)),
    "math.trunc": lambda x: float(math.trunc(_number(x))),
    "math.sqrt": lambda x: math.sqrt(_number(x)),
    "math.pow": lambda x, y: float(math.pow(_number(x), _number(y))),
    "math.isInfinite": lambda x: math.isinf(_number(x)),
    "math.isNaN": lambda x: math.isnan(_number(x)),
    "duration.value": _duration_value,
    "duration.time": _duration_time,
    "duration.abs": lambda d: Duration(abs(d.nanos)),
    "timestamp.date": _timestamp_date,
    "timestamp.value": _timestamp_value,
    "latlng.value": lambda lat, lng: LatLng(float(_number(lat)), float(_number(lng))),
}


# ---------------------------------------------------------------------- methods
def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, RulesPath):
        return len(value.segments)
    return len(value)


def _list_arg(value: Any) -> list[Any]:
    if isinstance(value, RulesSet):
        return value.items
    if isinstance(value, list):
        return value
    raise EvaluationError(f"expected a list or set, got {type_of(value)}")


def _members(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.keys())
    return _list_arg(value)


def _has_all(value: Any, other: Any) -> bool:
    items = _members(value)
    return all(any(equal(wanted, item) for item in items) for wanted in _list_arg(other))


def _has_any(value: Any, other: Any) -> bool:
    items = _members(value)
    return any(any(equal(wanted, item) for item in items) for wanted in _list_arg(other))


def _has_only(value: Any, other: Any) -> bool:
    allowed = _list_arg(other)
    return all(any(equal(item, ok) for ok in allowed) for item in _members(value))


def _map_get(value: dict[str, Any], key: Any, default: Any) -> Any:
    keys = key if isinstance(key, list) else [key]
    current: Any = value
    for part in keys:
        if not isinstance(part, str):
            raise EvaluationError("map.get keys are strings")
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return current


def _matches(text: str, pattern: Any) -> bool:
    if not isinstance(pattern, str):
        raise EvaluationError("matches() takes a string")
    return re.fullmatch(pattern, text) is not None


def _timestamp_part(ts: Timestamp, part: str) -> int:
    moment = datetime.fromtimestamp(ts.nanos // _NANOS, tz=UTC)
    if part == "year":
        return moment.year
    if part == "month":
        return moment.month
    if part == "day":
        return moment.day
    if part == "hours":
        return moment.hour
    if part == "minutes":
        return moment.minute
    if part == "seconds":
        return moment.second
    if part == "dayOfWeek":
        return moment.isoweekday()
    return moment.timetuple().tm_yday


def _method_table() -> dict[tuple[str, str], Callable[..., Any]]:
    string_methods: dict[str, Callable[..., Any]] = {
        "size": len,
        "lower": str.lower,
        "upper": str.upper,
        "trim": str.strip,
        "matches": _matches,
        "split": lambda s, sep: re.split(sep, s),
        "replace": lambda s, pattern, sub: re.sub(pattern, sub, s),
        "toUtf8": lambda s: s.encode(),
    }
    list_methods: dict[str, Callable[..., Any]] = {
        "size": len,
        "hasAll": _has_all,
        "hasAny": _has_any,
        "hasOnly": _has_only,
        "join": lambda items, sep: sep.join(items),
        "concat": lambda items, other: items + _list_arg(other),
        "removeAll": lambda items, other: [
            i for i in items if not any(equal(i, o) for o in _list_arg(other))
        ],
        "toSet": RulesSet,
    }
    map_methods: dict[str, Callable[..., Any]] = {
        "size": len,
        "keys": lambda m: list(m.keys()),
        "values": lambda m: list(m.values()),
        "get": _map_get,
        "diff": lambda m, other: MapDiff(m, other) if isinstance(other, dict) else _no_map(),
    }
    set_methods: dict[str, Callable[..., Any]] = {
        "size": len,
        "hasAll": _has_all,
        "hasAny": _has_any,
        "hasOnly": _has_only,
        "difference": lambda s, o: RulesSet(i for i in s.items if i not in RulesSet(_list_arg(o))),
        "intersection": lambda s, o: RulesSet(i for i in s.items if i in RulesSet(_list_arg(o))),
        "union": lambda s, o: RulesSet([*s.items, *_list_arg(o)]),
    }
    diff_methods: dict[str, Callable[..., Any]] = {
        "addedKeys": MapDiff.added,
        "removedKeys": MapDiff.removed,
        "changedKeys": MapDiff.changed,
        "unchangedKeys": MapDiff.unchanged,
        "affectedKeys": MapDiff.affected,
    }
    timestamp_methods: dict[str, Callable[..., Any]] = {
        name: (lambda part: lambda ts: _timestamp_part(ts, part))(name)
        for name in ("year", "month", "day", "hours", "minutes", "seconds", "dayOfWeek",
                     "dayOfYear")
    }  # fmt: skip
    timestamp_methods.update(
        nanos=lambda ts: ts.nanos % _NANOS,
        toMillis=lambda ts: ts.nanos // 1_000_000,
        date=lambda ts: Timestamp(ts.nanos - ts.nanos % (86400 * _NANOS)),
        time=lambda ts: Duration(ts.nanos % (86400 * _NANOS)),
    )
    duration_methods: dict[str, Callable[..., Any]] = {
        "seconds": lambda d: d.nanos // _NANOS,
        "nanos": lambda d: d.nanos % _NANOS,
        "toMillis": lambda d: d.nanos // 1_000_000,
    }
    path_methods: dict[str, Callable[..., Any]] = {"size": _size}
    bytes_methods: dict[str, Callable[..., Any]] = {"size": len}
    table: dict[tuple[str, str], Callable[..., Any]] = {}
    for type_name, methods in (
        ("string", string_methods),
        ("list", list_methods),
        ("map", map_methods),
        ("set", set_methods),
        ("mapdiff", diff_methods),
        ("timestamp", timestamp_methods),
        ("duration", duration_methods),
        ("path", path_methods),
        ("bytes", bytes_methods),
    ):
        for name, function in methods.items():
            table[(type_name, name)] = function
    return table


def _no_map() -> Any:
    raise EvaluationError("diff() takes a map")


METHODS = _method_table()
METHOD_NAMES = frozenset(name for _, name in METHODS)


def call_method(target: Any, name: str, args: list[Any]) -> Any:
    if target is None:
        raise EvaluationError(f"Null value error: .{name}() on null")
    method = METHODS.get((type_of(target), name))
    if method is None:
        raise EvaluationError(f"{type_of(target)} has no method {name}()")
    return _apply(method, [target, *args])
