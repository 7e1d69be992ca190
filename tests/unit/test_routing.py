"""Path parameters Firestore could not take as document ids are a 404 from the router itself:
no handler (so no authentication, no service, no client library call) ever sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, Request, Response

from aide.domain.document_ids import MAX_ID_BYTES, is_reserved_name, is_usable_id
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.routing import Router

app = Flask(__name__)

REFUSED_SEGMENTS = {
    # As the client sends them (percent-encoded where an HTTP client would otherwise resolve or
    # split them); the router sees the decoded segment.
    "reserved": "__x__",
    "reserved-empty-middle": "____",
    "reserved-encoded": "%5F%5Fname%5F%5F",
    "reserved-with-newline": "__a%0Ab__",
    "dot": "%2E",
    "dot-dot": "%2E%2E",
    "too-long": "a" * (MAX_ID_BYTES + 1),
    "too-long-in-bytes": "%C3%A9" * (MAX_ID_BYTES // 2 + 1),
}
ACCEPTED_SEGMENTS = ["abc", "___", "__x", "x__", "...", "a.b", "é" * (MAX_ID_BYTES // 2), "me2"]


def _router(calls: list[dict[str, Any]]) -> Router:
    router = Router("projects")

    @router.route("GET", "/{project_id}")
    def get_project(request: Request, project_id: str) -> Response:
        calls.append({"project_id": project_id})
        return success({"id": project_id})

    @router.route("DELETE", "/{project_id}/members/{member_uid}")
    def remove_member(request: Request, project_id: str, member_uid: str) -> Response:
        calls.append({"project_id": project_id, "member_uid": member_uid})
        return success({"id": project_id, "uid": member_uid})

    @router.route("GET", "/me")
    def me(request: Request) -> Response:
        calls.append({})
        return success({"me": True})

    return router


def _serve(method: str, path: str, calls: list[dict[str, Any]]) -> tuple[int, Any]:
    with app.test_request_context(path, method=method) as ctx:
        response = handle(ctx.request, _router(calls))
    return response.status_code, json.loads(response.get_data(as_text=True))


@pytest.mark.parametrize("segment", REFUSED_SEGMENTS.values(), ids=REFUSED_SEGMENTS.keys())
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/{}"),
        ("GET", "/api/projects/{}"),
        ("DELETE", "/{}/members/someone"),
        ("DELETE", "/someproject/members/{}"),
    ],
)
def test_refused_ids_are_404_before_any_handler(method: str, template: str, segment: str) -> None:
    calls: list[dict[str, Any]] = []
    status, body = _serve(method, template.format(segment), calls)
    assert status == 404
    assert body == {
        "success": False,
        "error": {"code": "not_found", "message": "Not found", "details": None},
    }
    assert calls == []


@pytest.mark.parametrize("segment", ACCEPTED_SEGMENTS)
def test_ids_firestore_accepts_reach_the_handler(segment: str) -> None:
    calls: list[dict[str, Any]] = []
    status, body = _serve("GET", f"/{segment}", calls)
    assert status == 200
    assert body["data"] == {"id": segment}
    assert calls == [{"project_id": segment}]


def test_literal_routes_are_not_ids() -> None:
    calls: list[dict[str, Any]] = []
    assert _serve("GET", "/me", calls) == (200, {"success": True, "data": {"me": True}})


def test_a_slash_inside_an_id_never_reaches_a_handler() -> None:
    # %2F decodes to '/', which splits the path: no route has that many segments.
    calls: list[dict[str, Any]] = []
    status, body = _serve("GET", "/a%2Fb", calls)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert calls == []


@pytest.mark.parametrize(
    ("value", "usable"),
    [
        ("abc", True),
        ("", False),
        (".", False),
        ("..", False),
        ("a/b", False),
        ("__x__", False),
        ("____", False),
        ("___", True),
        ("__x", True),
        ("x" * MAX_ID_BYTES, True),
        ("x" * (MAX_ID_BYTES + 1), False),
    ],
)
def test_is_usable_id(value: str, usable: bool) -> None:
    assert is_usable_id(value) is usable


def test_reserved_names_span_lines() -> None:
    assert is_reserved_name("__a\nb__")
    assert not is_reserved_name("__a\nb_")
