"""CORS: any origin for local development only; a deployed function answers only the origins
its CORS_ORIGINS param names, and a wildcard there never admits the opaque `null` origin."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response

from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.routing import Router

app = Flask(__name__)


def _router() -> Router:
    router = Router("things")

    @router.route("GET", "/")
    def list_things(request: Any) -> Response:
        return success({"things": []})

    return router


def _get(origin: str, *, preflight: bool = False) -> Response:
    headers = {"Origin": origin}
    if preflight:
        headers["Access-Control-Request-Method"] = "GET"
    method = "OPTIONS" if preflight else "GET"
    with app.test_request_context("/", method=method, headers=headers) as ctx:
        return handle(ctx.request, _router())


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment of a deployed function (Cloud Run sets K_SERVICE)."""
    monkeypatch.setenv("K_SERVICE", "tasks")
    monkeypatch.delenv("FUNCTIONS_EMULATOR", raising=False)
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    return monkeypatch


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("K_SERVICE", "tasks")
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    return monkeypatch


@pytest.mark.parametrize("origin", ["http://localhost:3000", "null"])
def test_locally_any_origin_is_allowed_by_default(local: pytest.MonkeyPatch, origin: str) -> None:
    assert _get(origin).headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("origin", ["https://app.example.com", "null", "http://localhost:3000"])
def test_deployed_without_named_origins_allows_no_cross_origin_caller(
    deployed: pytest.MonkeyPatch, origin: str
) -> None:
    response = _get(origin)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"
    preflight = _get(origin, preflight=True)
    assert preflight.status_code == 204
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers


def test_deployed_named_origins_are_the_only_ones(deployed: pytest.MonkeyPatch) -> None:
    deployed.setenv("CORS_ORIGINS", "https://app.example.com, https://admin.example.com")
    for origin in ("https://app.example.com", "https://admin.example.com"):
        assert _get(origin).headers["Access-Control-Allow-Origin"] == origin
        assert _get(origin, preflight=True).headers["Access-Control-Allow-Origin"] == origin
    for origin in ("https://evil.example.com", "null", "https://app.example.com.evil.com"):
        assert "Access-Control-Allow-Origin" not in _get(origin).headers


def test_a_deployed_wildcard_never_admits_the_null_origin(deployed: pytest.MonkeyPatch) -> None:
    deployed.setenv("CORS_ORIGINS", "*")
    assert _get("https://anyone.example.com").headers["Access-Control-Allow-Origin"] == "*"
    for response in (_get("null"), _get("null", preflight=True)):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert response.headers["Vary"] == "Origin"
