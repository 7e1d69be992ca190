"""The syntax tree of a rules file: a service of nested match blocks holding allow statements
and functions, and the expressions inside them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expr:
    line: int


@dataclass(frozen=True)
class Literal(Expr):
    value: object


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class Member(Expr):
    target: Expr
    name: str


@dataclass(frozen=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(frozen=True)
class Slice(Expr):
    target: Expr
    start: Expr
    end: Expr


@dataclass(frozen=True)
class Call(Expr):
    """``name(args)`` when ``function`` is a ``Name``; ``value.method(args)`` when a ``Member``."""

    function: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class IsType(Expr):
    operand: Expr
    type_name: str


@dataclass(frozen=True)
class Conditional(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class ListLiteral(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class MapLiteral(Expr):
    entries: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class PathLiteral(Expr):
    """``/databases/$(database)/documents/x``: literal segments (str) and ``$(expr)`` parts."""

    segments: tuple[str | Expr, ...]


@dataclass(frozen=True)
class Segment:
    """One segment of a match path: a literal, ``{name}`` or ``{name=**}``."""

    text: str
    wildcard: bool = False
    recursive: bool = False


@dataclass(frozen=True)
class FunctionDef:
    name: str
    params: tuple[str, ...]
    lets: tuple[tuple[str, Expr], ...]
    body: Expr
    line: int


@dataclass(frozen=True)
class Allow:
    methods: frozenset[str]  # of get, list, create, update, delete
    condition: Expr | None  # None: "allow read;" is unconditional
    line: int


@dataclass
class MatchBlock:
    pattern: tuple[Segment, ...]
    line: int
    allows: list[Allow] = field(default_factory=list)
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    matches: list[MatchBlock] = field(default_factory=list)


@dataclass
class Service:
    """``service cloud.firestore { ... }``: the root block (its pattern is empty)."""

    name: str
    version: str
    root: MatchBlock
