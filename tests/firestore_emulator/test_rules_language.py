"""The security rules language itself: parsing, expressions, matching, functions, document access.

These run the evaluator directly on an in-memory document map (the same ``DocumentReader`` port
the emulator's store implements); the emulator-level behaviour is in test_rules_enforcement.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulators.firestore.rules import Ruleset, RulesPath, RulesSyntaxError
from emulators.firestore.rules.evaluator import Evaluation, Scope, evaluate, truthy
from emulators.firestore.rules.lexer import tokenize
from emulators.firestore.rules.parser import _Parser
from emulators.firestore.rules.values import Duration, Timestamp

ROOT = ("databases", "(default)", "documents")


class MapReader:
    """Documents by path (``users/u1``), before and after a hypothetical write."""

    def __init__(
        self, now: dict[str, dict[str, Any]], after: dict[str, dict[str, Any] | None] | None = None
    ) -> None:
        self.now = now
        self.after = after or {}

    @staticmethod
    def _key(path: RulesPath) -> str:
        return "/".join(path.segments[3:])

    def _resource(self, key: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
        if data is None:
            return None
        return {
            "data": data,
            "id": key.rsplit("/", 1)[-1],
            "__name__": RulesPath(ROOT + tuple(key.split("/"))),
        }

    def get(self, path: RulesPath) -> dict[str, Any] | None:
        key = self._key(path)
        return self._resource(key, self.now.get(key))

    def get_after(self, path: RulesPath) -> dict[str, Any] | None:
        key = self._key(path)
        if key in self.after:
            return self._resource(key, self.after[key])
        return self.get(path)


def expr(source: str, **variables: Any) -> Any:
    """Evaluate one expression with the given variables in scope."""
    parsed = _Parser(tokenize(source)).expression()
    return evaluate(parsed, Scope(dict(variables)), Evaluation(MapReader({})))


def decide(
    rules: str,
    method: str,
    doc: str,
    *,
    uid: str | None = "alice",
    claims: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    new_data: dict[str, Any] | None = None,
    store: dict[str, dict[str, Any]] | None = None,
    after: dict[str, dict[str, Any] | None] | None = None,
) -> bool:
    ruleset = Ruleset.load(rules)
    path = RulesPath(ROOT + tuple(doc.split("/")))
    auth = None if uid is None else {"uid": uid, "token": {"sub": uid, **(claims or {})}}
    request = {
        "auth": auth,
        "method": method,
        "path": path,
        "time": Timestamp(1_700_000_000 * 10**9),
        "resource": None if new_data is None else {"data": new_data, "id": doc.rsplit("/", 1)[-1]},
    }
    resource = (
        None if data is None else {"data": data, "id": doc.rsplit("/", 1)[-1], "__name__": path}
    )
    return ruleset.allows(method, path, request, resource, MapReader(store or {}, after))


def service(body: str) -> str:
    return (
        "rules_version = '2';\nservice cloud.firestore {\n"
        "  match /databases/{database}/documents {\n" + body + "\n  }\n}\n"
    )


# ---------------------------------------------------------------------- expressions
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7.0 / 2", 3.5),
        ("7 % 3", 1),
        ("'a' + 'b'", "ab"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("1 == 1.0", True),
        ("true == 1", False),
        ("'1' == 1", False),
        ("null == null", True),
        ("[1, {'a': 2}] == [1, {'a': 2}]", True),
        ("1 < 2 && 'a' < 'b'", True),
        ("!(1 > 2)", True),
        ("true ? 'yes' : 'no'", "yes"),
        ("false ? 'yes' : 'no'", "no"),
        ("2 in [1, 2, 3]", True),
        ("'k' in {'k': 1}", True),
        ("'z' in {'k': 1}", False),
        ("{'a': {'b': 3}}.a.b", 3),
        ("{'a': 1}['a']", 1),
        ("[10, 20, 30][1]", 20),
        ("[10, 20, 30][1:3]", [20, 30]),
        ("'Hello'.lower()", "hello"),
        ("'Hello'.upper()", "HELLO"),
        ("'  x '.trim()", "x"),
        ("'Hello'.size()", 5),
        ("'a@b.com'.matches('.*@b[.]com')", True),
        ("'a@b.com.evil'.matches('.*@b[.]com')", False),
        ("'a,b'.split(',')", ["a", "b"]),
        ("[1, 2, 3].size()", 3),
        ("[1, 2, 3].hasAll([1, 3])", True),
        ("[1, 2, 3].hasAll([1, 4])", False),
        ("[1, 2, 3].hasAny([4, 3])", True),
        ("[1, 2].hasOnly([1, 2, 3])", True),
        ("[1, 5].hasOnly([1, 2, 3])", False),
        ("['a', 'b'].join('-')", "a-b"),
        ("[1, 1, 2].toSet().size()", 2),
        ("{'a': 1, 'b': 2}.keys().hasOnly(['a', 'b'])", True),
        ("{'a': 1}.size()", 1),
        ("{'a': 1}.get('a', 0)", 1),
        ("{'a': 1}.get('b', 0)", 0),
        ("{'a': {'b': 2}}.get(['a', 'b'], 0)", 2),
        (
            "{'a': 1, 'b': 2}.diff({'a': 1, 'b': 3, 'c': 4}).affectedKeys().hasOnly(['b', 'c'])",
            True,
        ),
        # Added keys are in the map diff() is called on, removed ones only in its argument.
        ("{'a': 1}.diff({'a': 1, 'b': 2}).removedKeys().hasOnly(['b'])", True),
        ("{'a': 1}.diff({'a': 2}).changedKeys().hasAll(['a'])", True),
        ("{'a': 1, 'x': 0}.diff({'a': 1}).addedKeys().hasOnly(['x'])", True),
        ("{'a': 1}.diff({'a': 1}).unchangedKeys().hasOnly(['a'])", True),
        ("'s' is string", True),
        ("1 is int", True),
        ("1 is float", False),
        ("1.5 is float", True),
        ("1 is number && 1.5 is number", True),
        ("true is bool", True),
        ("{} is map", True),
        ("[] is list", True),
        ("null is null", True),
        ("'x' is int", False),
        ("int('42') + 1", 43),
        ("float(1) is float", True),
        ("string(12)", "12"),
        ("math.abs(-3)", 3),
        ("math.floor(2.7)", 2.0),
        ("duration.value(2, 'h') == duration.time(2, 0, 0, 0)", True),
        ("timestamp.date(2024, 1, 2).year()", 2024),
        ("timestamp.value(1000).toMillis()", 1000),
        ("/databases/$(db)/documents/users/$(uid) == /databases/x/documents/users/u1", True),
        ("/databases/x/documents/users/u1[4]", "u1"),
        ("string(/a/b)", "/a/b"),
        ("/a/b is path", True),
    ],
)
def test_expression_values(source: str, expected: Any) -> None:
    result = expr(source, db="x", uid="u1")
    assert result == expected
    assert type(result) is type(expected)


def test_timestamps_and_durations() -> None:
    now = Timestamp(1_700_000_000 * 10**9)
    assert expr("t + duration.value(1, 'd') > t", t=now) is True
    assert expr("t - (t - duration.value(90, 's'))", t=now) == Duration(90 * 10**9)
    assert expr("t is timestamp && (t - t) is duration", t=now) is True
    assert expr("t.toMillis()", t=now) == 1_700_000_000_000


@pytest.mark.parametrize(
    "source",
    [
        "missing.field",  # unknown variable
        "{'a': 1}.b",  # missing key
        "n.field",  # null dereference
        "1 / 0",
        "1 < 'a'",  # incomparable types
        "!'x'",  # not a bool
        "'x' && true",
        "[1][5]",
        "int('nope')",
        "2 in 'abc'",
        "{'a': 1}.keys().size() + 'x'",
    ],
)
def test_evaluation_errors_raise(source: str) -> None:
    from emulators.firestore.rules import EvaluationError

    with pytest.raises(EvaluationError):
        expr(source, n=None)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{'a': 1}.b == 1 || true", True),  # error || true → true
        ("true || {'a': 1}.b", True),  # short circuit
        ("{'a': 1}.b == 1 && false", False),  # error && false → false
        ("false && {'a': 1}.b", False),
    ],
)
def test_logical_operators_absorb_errors_they_do_not_need(source: str, expected: bool) -> None:
    assert expr(source) is expected


def test_logical_operators_propagate_errors_that_decide() -> None:
    from emulators.firestore.rules import EvaluationError

    with pytest.raises(EvaluationError):
        expr("{'a': 1}.b == 1 || false")
    with pytest.raises(EvaluationError):
        truthy(expr("{'a': 1}.b == 1 && true"))


# ---------------------------------------------------------------------- matching and methods
def test_wildcards_bind_and_nested_matches_concatenate() -> None:
    rules = service(
        """
        match /users/{uid} {
          allow get: if request.auth.uid == uid;
          match /notes/{noteId} {
            allow read: if request.auth.uid == uid && noteId.size() > 2;
          }
        }"""
    )
    assert decide(rules, "get", "users/alice") is True
    assert decide(rules, "get", "users/bob") is False
    assert decide(rules, "list", "users/alice") is False  # only get was allowed
    assert decide(rules, "get", "users/alice/notes/n01") is True
    assert decide(rules, "list", "users/alice/notes/n01") is True
    assert decide(rules, "get", "users/alice/notes/n1") is False
    assert decide(rules, "get", "users/bob/notes/n01") is False
    assert decide(rules, "get", "other/alice") is False  # deny by default


def test_recursive_wildcard_matches_any_depth_and_binds_a_path() -> None:
    rules = service(
        """
        match /public/{rest=**} {
          allow read: if rest[0] == 'a' || rest.size() == 3;
        }
        match /{path=**}/comments/{commentId} {
          allow get: if commentId == 'c1';
        }"""
    )
    assert decide(rules, "get", "public/a") is True
    assert decide(rules, "get", "public/b/x") is False
    assert decide(rules, "get", "public/b/x/y") is True  # rest = b/x/y
    assert decide(rules, "get", "public/b/x/y/z/w") is False
    assert decide(rules, "get", "public/a/x/y/z/w") is True
    assert decide(rules, "get", "comments/c1") is True  # ** matches zero segments in v2
    assert decide(rules, "get", "posts/p/comments/c1") is True
    assert decide(rules, "get", "posts/p/comments/c2") is False


def test_read_and_write_shorthands_cover_their_methods() -> None:
    rules = service(
        """
        match /a/{id} { allow read; }
        match /b/{id} { allow write: if true; }
        match /c/{id} { allow create, delete: if true; }"""
    )
    assert [decide(rules, m, "a/x") for m in ("get", "list", "create", "update", "delete")] == [
        True, True, False, False, False,
    ]  # fmt: skip
    assert [decide(rules, m, "b/x") for m in ("get", "list", "create", "update", "delete")] == [
        False, False, True, True, True,
    ]  # fmt: skip
    assert [decide(rules, m, "c/x") for m in ("create", "update", "delete")] == [True, False, True]


def test_any_matching_allow_grants_even_when_another_errors() -> None:
    rules = service(
        """
        match /docs/{id} {
          allow read: if resource.data.missing == 1;
        }
        match /docs/{id} {
          allow read: if resource.data.owner == request.auth.uid;
        }"""
    )
    assert decide(rules, "get", "docs/d", data={"owner": "alice"}) is True
    assert decide(rules, "get", "docs/d", data={"owner": "bob"}) is False
    assert decide(rules, "get", "docs/d", data=None) is False  # resource is null


def test_unauthenticated_requests_have_null_auth() -> None:
    rules = service(
        """
        match /open/{id} { allow read: if request.auth == null; }
        match /closed/{id} { allow read: if request.auth != null; }"""
    )
    assert decide(rules, "get", "open/x", uid=None) is True
    assert decide(rules, "get", "closed/x", uid=None) is False
    assert decide(rules, "get", "closed/x") is True


def test_custom_claims_in_the_token() -> None:
    rules = service(
        """
        match /admin/{id} { allow read: if request.auth.token.role == 'admin'; }"""
    )
    assert decide(rules, "get", "admin/x", claims={"role": "admin"}) is True
    assert decide(rules, "get", "admin/x", claims={"role": "user"}) is False
    assert decide(rules, "get", "admin/x") is False  # missing claim → error → false


def test_writes_see_request_resource_and_resource() -> None:
    rules = service(
        """
        match /posts/{id} {
          allow create: if request.resource.data.owner == request.auth.uid
                        && request.resource.data.keys().hasOnly(['owner', 'title']);
          allow update: if resource.data.owner == request.auth.uid
                        && request.resource.data.diff(resource.data).affectedKeys()
                             .hasOnly(['title']);
          allow delete: if resource.data.owner == request.auth.uid;
        }"""
    )
    mine = {"owner": "alice", "title": "t"}
    assert decide(rules, "create", "posts/p", new_data=mine) is True
    assert decide(rules, "create", "posts/p", new_data={**mine, "x": 1}) is False
    assert decide(rules, "create", "posts/p", new_data={**mine, "owner": "bob"}) is False
    assert decide(rules, "update", "posts/p", data=mine, new_data={**mine, "title": "u"}) is True
    assert decide(rules, "update", "posts/p", data=mine, new_data={**mine, "owner": "c"}) is False
    assert decide(rules, "delete", "posts/p", data=mine) is True
    assert decide(rules, "delete", "posts/p", data={**mine, "owner": "bob"}) is False


# ---------------------------------------------------------------------- functions and reads
def test_functions_with_parameters_lets_and_enclosing_wildcards() -> None:
    rules = service(
        """
        function signedIn() { return request.auth != null; }
        match /teams/{teamId} {
          function isMember(uid) {
            let members = get(/databases/$(database)/documents/teams/$(teamId)).data.members;
            return signedIn() && uid in members;
          }
          allow read: if isMember(request.auth.uid);
        }"""
    )
    store = {"teams/t1": {"members": ["alice"]}}
    assert decide(rules, "get", "teams/t1", store=store) is True
    assert decide(rules, "get", "teams/t1", uid="bob", store=store) is False
    assert decide(rules, "get", "teams/t2", store=store) is False  # get() → null → error
    assert decide(rules, "get", "teams/t1", uid=None, store=store) is False


def test_exists_get_and_get_after() -> None:
    rules = service(
        """
        match /rooms/{roomId} {
          allow read: if exists(/databases/$(database)/documents/admins/$(request.auth.uid));
          allow create: if getAfter(/databases/$(database)/documents/index/$(roomId)).data.room
                           == roomId;
          allow delete: if !existsAfter(/databases/$(database)/documents/index/$(roomId));
        }"""
    )
    assert decide(rules, "get", "rooms/r", store={"admins/alice": {}}) is True
    assert decide(rules, "get", "rooms/r", store={"admins/bob": {}}) is False
    index: dict[str, dict[str, Any] | None] = {"index/r": {"room": "r"}}
    assert decide(rules, "create", "rooms/r", new_data={}, after=index) is True
    assert decide(rules, "create", "rooms/r", new_data={}) is False
    stored = {"index/r": {"room": "r"}}
    assert decide(rules, "delete", "rooms/r", data={}, store=stored, after={"index/r": None})
    assert not decide(rules, "delete", "rooms/r", data={}, store=stored)


# ---------------------------------------------------------------------- load-time errors
@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("match /a/{id} {\n  allow read: if request.auth.uid ==;\n}", 5, "expected an expression"),
        ("match /a/{id} {\n  allow reed: if true;\n}", 5, "unknown method 'reed'"),
        ("match /a/{id} {\n  allow read: if frobnicate(id);\n}", 5, "frobnicate"),
        ("match /a/{id} {\n  allow read: if id.reverse() == 'x';\n}", 5, ".reverse()"),
        ("match /a/{id} {\n  allow read: if other == 'x';\n}", 5, "unknown variable 'other'"),
        ("match /a/{id} {\n  allow read: if id is banana;\n}", 5, "unknown type 'banana'"),
        ("match /a/{id} {\n  allow read: if math.frob(1);\n}", 5, "math.frob"),
        ("function f(a) { return a; }\nmatch /a/{id} {\n  allow read: if f();\n}", 6, "f takes 1"),
        ("match /a/{id} {\n  allow read: if 'unterminated;\n}", 5, "unterminated string"),
        ("match a/{id} {\n}", 4, "starts with '/'"),
    ],
)
def test_load_errors_name_the_line(body: str, line: int, fragment: str) -> None:
    with pytest.raises(RulesSyntaxError) as caught:
        Ruleset.load(service(body))
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert f"line {line}" in str(caught.value)


def test_only_the_firestore_service_is_accepted() -> None:
    with pytest.raises(RulesSyntaxError, match=r"cloud\.firestore"):
        Ruleset.load("service firebase.storage { }")


def test_comments_and_both_string_quotes() -> None:
    rules = (
        "rules_version = '2';\n/* block\ncomment */\nservice cloud.firestore {\n"
        "  match /databases/{database}/documents {\n"
        "    // line comment\n    match /a/{id} { allow read: if id == \"x\" || id == 'y'; }\n"
        "  }\n}\n"
    )
    assert decide(rules, "get", "a/x") is True
    assert decide(rules, "get", "a/y") is True
    assert decide(rules, "get", "a/z") is False
