"""Recursive-descent parser: rules text → ``syntax.Service``.

Operator precedence, lowest first (as in CEL, on which the rules language is built):
``?:``, ``||``, ``&&``, comparisons / ``in`` / ``is``, ``+ -``, ``* / %``, unary ``! -``,
then member access, calls and indexing.
"""

from __future__ import annotations

from typing import NoReturn

from emulators.firestore.rules import syntax as ast
from emulators.firestore.rules.errors import RulesSyntaxError
from emulators.firestore.rules.lexer import Token, tokenize

_METHOD_GROUPS = {
    "read": ("get", "list"),
    "write": ("create", "update", "delete"),
    "get": ("get",),
    "list": ("list",),
    "create": ("create",),
    "update": ("update",),
    "delete": ("delete",),
}
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def parse(source: str) -> ast.Service:
    return _Parser(tokenize(source)).service()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    # ------------------------------------------------------------------ token helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def _peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def _is(self, text: str) -> bool:
        token = self.token
        return token.kind in ("punct", "ident") and token.text == text

    def _accept(self, text: str) -> bool:
        if self._is(text):
            self.pos += 1
            return True
        return False

    def _expect(self, text: str) -> Token:
        token = self.token
        if not self._is(text):
            self._fail(f"expected {text!r}, found {_describe(token)}")
        self.pos += 1
        return token

    def _ident(self) -> Token:
        token = self.token
        if token.kind != "ident":
            self._fail(f"expected a name, found {_describe(token)}")
        self.pos += 1
        return token

    def _fail(self, message: str, token: Token | None = None) -> NoReturn:
        token = token or self.token
        raise RulesSyntaxError(message, token.line, token.column)

    # ------------------------------------------------------------------ declarations
    def service(self) -> ast.Service:
        version = "1"
        if self._is("rules_version"):
            self.pos += 1
            self._expect("=")
            token = self.token
            if token.kind != "string":
                self._fail("rules_version must be a string such as '2'")
            self.pos += 1
            version = str(token.value)
            if version not in ("1", "2"):
                self._fail(f"unsupported rules_version {version!r}", token)
            self._accept(";")
        start = self._expect("service")
        parts = [self._ident().text]
        while self._accept("."):
            parts.append(self._ident().text)
        name = ".".join(parts)
        if name != "cloud.firestore":
            self._fail(f"this emulator evaluates 'service cloud.firestore', not {name!r}", start)
        root = ast.MatchBlock(pattern=(), line=start.line)
        self._block_body(root)
        if self.token.kind != "end":
            self._fail(f"unexpected {_describe(self.token)} after the service block")
        return ast.Service(name=name, version=version, root=root)

    def _block_body(self, block: ast.MatchBlock) -> None:
        self._expect("{")
        while not self._accept("}"):
            if self._is("match"):
                block.matches.append(self._match())
            elif self._is("allow"):
                block.allows.append(self._allow())
            elif self._is("function"):
                function = self._function()
                if function.name in block.functions:
                    self._fail(f"function {function.name!r} is declared twice in this block")
                block.functions[function.name] = function
            elif self.token.kind == "end":
                self._fail("missing '}'")
            else:
                self._fail(f"expected match, allow or function, found {_describe(self.token)}")

    def _match(self) -> ast.MatchBlock:
        start = self._expect("match")
        segments: list[ast.Segment] = []
        if not self._is("/"):
            self._fail("a match path starts with '/'")
        while self._accept("/"):
            if self._accept("{"):
                name = self._ident().text
                recursive = False
                if self._accept("="):
                    self._expect("**")
                    recursive = True
                self._expect("}")
                segments.append(ast.Segment(name, wildcard=True, recursive=recursive))
            else:
                token = self.token
                if token.kind not in ("ident", "int"):
                    self._fail(f"invalid path segment {_describe(token)}")
                self.pos += 1
                segments.append(ast.Segment(token.text))
        block = ast.MatchBlock(pattern=tuple(segments), line=start.line)
        self._block_body(block)
        return block

    def _allow(self) -> ast.Allow:
        start = self._expect("allow")
        methods: set[str] = set()
        while True:
            token = self._ident()
            if token.text not in _METHOD_GROUPS:
                self._fail(f"unknown method {token.text!r} in allow", token)
            methods.update(_METHOD_GROUPS[token.text])
            if not self._accept(","):
                break
        condition: ast.Expr | None = None
        if self._accept(":"):
            self._expect("if")
            condition = self.expression()
        self._expect(";")
        return ast.Allow(methods=frozenset(methods), condition=condition, line=start.line)

    def _function(self) -> ast.FunctionDef:
        start = self._expect("function")
        name = self._ident().text
        self._expect("(")
        params: list[str] = []
        if not self._is(")"):
            while True:
                params.append(self._ident().text)
                if not self._accept(","):
                    break
        self._expect(")")
        self._expect("{")
        lets: list[tuple[str, ast.Expr]] = []
        while self._accept("let"):
            let_name = self._ident().text
            self._expect("=")
            lets.append((let_name, self.expression()))
            self._expect(";")
        self._expect("return")
        body = self.expression()
        self._accept(";")
        self._expect("}")
        return ast.FunctionDef(name, tuple(params), tuple(lets), body, start.line)

    # ------------------------------------------------------------------ expressions
    def expression(self) -> ast.Expr:
        condition = self._or()
        if self._is("?"):
            line = self.token.line
            self.pos += 1
            then = self.expression()
            self._expect(":")
            otherwise = self.expression()
            return ast.Conditional(line, condition, then, otherwise)
        return condition

    def _or(self) -> ast.Expr:
        left = self._and()
        while self._is("||"):
            line = self.token.line
            self.pos += 1
            left = ast.Binary(line, "||", left, self._and())
        return left

    def _and(self) -> ast.Expr:
        left = self._relation()
        while self._is("&&"):
            line = self.token.line
            self.pos += 1
            left = ast.Binary(line, "&&", left, self._relation())
        return left

    def _relation(self) -> ast.Expr:
        left = self._additive()
        while True:
            token = self.token
            if token.kind == "punct" and token.text in _COMPARISONS:
                self.pos += 1
                left = ast.Binary(token.line, token.text, left, self._additive())
            elif token.kind == "ident" and token.text == "in":
                self.pos += 1
                left = ast.Binary(token.line, "in", left, self._additive())
            elif token.kind == "ident" and token.text == "is":
                self.pos += 1
                type_name = self._ident().text
                # rules.X spelling of type names is accepted too.
                while self._accept("."):
                    type_name = self._ident().text
                left = ast.IsType(token.line, left, type_name)
            else:
                return left

    def _additive(self) -> ast.Expr:
        left = self._multiplicative()
        while self.token.kind == "punct" and self.token.text in ("+", "-"):
            token = self.token
            self.pos += 1
            left = ast.Binary(token.line, token.text, left, self._multiplicative())
        return left

    def _multiplicative(self) -> ast.Expr:
        left = self._unary()
        while self.token.kind == "punct" and self.token.text in ("*", "/", "%"):
            token = self.token
            self.pos += 1
            left = ast.Binary(token.line, token.text, left, self._unary())
        return left

    def _unary(self) -> ast.Expr:
        token = self.token
        if token.kind == "punct" and token.text in ("!", "-"):
            self.pos += 1
            operand = self._unary()
            if token.text == "-" and isinstance(operand, ast.Literal):
                value = operand.value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return ast.Literal(token.line, -value)
            return ast.Unary(token.line, token.text, operand)
        return self._postfix()

    def _postfix(self) -> ast.Expr:
        expr = self._primary()
        while True:
            token = self.token
            if self._accept("."):
                name = self._ident().text
                expr = ast.Member(token.line, expr, name)
            elif self._accept("("):
                expr = ast.Call(token.line, expr, self._arguments(")"))
            elif self._accept("["):
                index = self.expression()
                if self._accept(":"):
                    end = self.expression()
                    self._expect("]")
                    expr = ast.Slice(token.line, expr, index, end)
                else:
                    self._expect("]")
                    expr = ast.Index(token.line, expr, index)
            else:
                return expr

    def _arguments(self, closing: str) -> tuple[ast.Expr, ...]:
        args: list[ast.Expr] = []
        if not self._accept(closing):
            while True:
                args.append(self.expression())
                if self._accept(closing):
                    break
                self._expect(",")
        return tuple(args)

    def _primary(self) -> ast.Expr:
        token = self.token
        if token.kind in ("int", "float", "string"):
            self.pos += 1
            return ast.Literal(token.line, token.value)
        if token.kind == "ident":
            self.pos += 1
            if token.text == "true":
                return ast.Literal(token.line, True)
            if token.text == "false":
                return ast.Literal(token.line, False)
            if token.text == "null":
                return ast.Literal(token.line, None)
            return ast.Name(token.line, token.text)
        if self._accept("("):
            inner = self.expression()
            self._expect(")")
            return inner
        if self._accept("["):
            return ast.ListLiteral(token.line, self._arguments("]"))
        if self._accept("{"):
            entries: list[tuple[ast.Expr, ast.Expr]] = []
            if not self._accept("}"):
                while True:
                    key = self.expression()
                    self._expect(":")
                    entries.append((key, self.expression()))
                    if self._accept("}"):
                        break
                    self._expect(",")
            return ast.MapLiteral(token.line, tuple(entries))
        if self._is("/"):
            return self._path()
        self._fail(f"expected an expression, found {_describe(token)}")

    def _path(self) -> ast.PathLiteral:
        line = self.token.line
        segments: list[str | ast.Expr] = []
        while self._accept("/"):
            if self._accept("$"):
                self._expect("(")
                segments.append(self.expression())
                self._expect(")")
                continue
            token = self.token
            if token.kind not in ("ident", "int"):
                self._fail(f"invalid path segment {_describe(token)}")
            self.pos += 1
            segments.append(token.text)
        return ast.PathLiteral(line, tuple(segments))


def _describe(token: Token) -> str:
    return "end of file" if token.kind == "end" else repr(token.text)
