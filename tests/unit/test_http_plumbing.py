"""HTTP plumbing: envelope, errors, body parsing limits, routing, CORS, the request wrapper."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, Request, Response

from aide.domain.tasks import TaskCreate
from aide.entrypoints import errors
from aide.entrypoints.envelope import failure, success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import (
    MAX_BODY_BYTES,
    parse_body,
    query_params,
    read_json,
)
from aide.entrypoints.routing import Router

app = Flask(__name__)


def _request(
    method: str = "POST",
    path: str = "/",
    body: bytes | str | None = None,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    return app.test_request_context(
        path, method=method, data=body, content_type=content_type, headers=headers or {}
    )


def _json(response: Response) -> Any:
    return json.loads(response.get_data(as_text=True))


def test_success_envelope_renders_models_camel_case_and_utc() -> None:
    task = TaskCreate(title="abc", description="0123456789", agent_id="coder")
    response = success({"task": task, "at": datetime(2026, 1, 1, tzinfo=UTC)}, status=201)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert _json(response) == {
        "success": True,
        "data": {
            "task": {"title": "abc", "description": "0123456789", "priority": "medium",
                     "agentId": "coder"},
            "at": "2026-01-01T00:00:00Z",
        },
    }


def test_error_envelope_carries_code_message_details_and_headers() -> None:
    response = failure(
        errors.QuotaExceeded(details={"limit": 20, "reset": "x"}, headers={"Retry-After": "5"})
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert _json(response) == {
        "success": False,
        "error": {"code": "quota_exceeded", "message": "Quota exceeded",
                  "details": {"limit": 20, "reset": "x"}},
    }


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.ValidationFailed(), 400, "validation_failed"),
        (errors.Unauthenticated(), 401, "unauthenticated"),
        (errors.AccountInactive(), 403, "account_inactive"),
        (errors.PermissionDenied(), 403, "permission_denied"),
        (errors.NotFound(), 404, "not_found"),
        (errors.Conflict(), 409, "conflict"),
        (errors.PayloadTooLarge(), 413, "payload_too_large"),
        (errors.Internal(), 500, "internal"),
        (errors.Unavailable(), 503, "unavailable"),
    ],
)
def test_error_statuses(error: errors.ApiError, status: int, code: str) -> None:
    body = _json(failure(error))
    assert failure(error).status_code == status
    assert body["error"]["code"] == code and body["error"]["details"] is None


def test_seed_messages() -> None:
    assert errors.AccountInactive().message == "Account inactive"
    assert errors.PermissionDenied().message == "Insufficient permissions"


def test_body_is_parsed_into_the_model() -> None:
    with _request(body=json.dumps({"title": "abc", "description": "0123456789"})) as ctx:
        assert parse_body(ctx.request, TaskCreate).title == "abc"


def test_validation_errors_name_each_field() -> None:
    payload = json.dumps({"title": "ab", "description": "0123456789", "extra": 1})
    with _request(body=payload) as ctx, pytest.raises(errors.ValidationFailed) as caught:
        parse_body(ctx.request, TaskCreate)
    fields = {item["field"]: item["type"] for item in caught.value.details}
    assert fields == {"title": "string_too_short", "extra": "extra_forbidden"}
    assert all(item["message"] for item in caught.value.details)


@pytest.mark.parametrize(
    ("body", "content_type", "error", "code"),
    [
        ("{bad json", "application/json", errors.MalformedJson, "malformed_json"),
        ("", "application/json", errors.MalformedJson, "malformed_json"),
        ('{"a": NaN}', "application/json", errors.MalformedJson, "malformed_json"),
        ("title=abc", "application/x-www-form-urlencoded", errors.UnsupportedMediaType,
         "unsupported_media_type"),
        ('{"a": 1}', None, errors.UnsupportedMediaType, "unsupported_media_type"),
        ("[1, 2]", "application/json", errors.BadRequest, "bad_request"),
    ],
)
def test_unreadable_bodies_are_400(
    body: str, content_type: str | None, error: type[errors.ApiError], code: str
) -> None:
    with _request(body=body, content_type=content_type) as ctx, pytest.raises(error) as caught:
        parse_body(ctx.request, TaskCreate)
    assert caught.value.status == 400 and caught.value.code == code


def test_malformed_json_details_say_where() -> None:
    with _request(body='{"a":\n  tru}') as ctx, pytest.raises(errors.MalformedJson) as caught:
        read_json(ctx.request)
    assert caught.value.details["line"] == 2


def test_json_with_charset_and_vendor_types_is_accepted() -> None:
    with _request(body='{"a": "é"}'.encode(), content_type="application/json; charset=utf-8") as c:
        assert read_json(c.request) == {"a": "é"}
    with _request(body='{"a": 1}', content_type="application/merge-patch+json") as c:
        assert read_json(c.request) == {"a": 1}


def test_body_over_one_mebibyte_is_413() -> None:
    big = json.dumps({"x": "y" * MAX_BODY_BYTES})
    with _request(body=big) as ctx, pytest.raises(errors.PayloadTooLarge) as caught:
        read_json(ctx.request)
    assert caught.value.status == 413
    exactly = " " * (MAX_BODY_BYTES - 2) + "{}"
    with _request(body=exactly) as ctx:
        assert read_json(ctx.request) == {}


def test_body_without_content_length_is_still_bounded() -> None:
    environ_overrides = {"wsgi.input": io.BytesIO(b"[" + b"1," * MAX_BODY_BYTES + b"1]")}
    with app.test_request_context(
        "/", method="POST", content_type="application/json",
        environ_overrides=environ_overrides,
    ) as ctx:
        ctx.request.environ.pop("CONTENT_LENGTH", None)
        ctx.request.environ["wsgi.input_terminated"] = True
        with pytest.raises(errors.PayloadTooLarge):
            read_json(ctx.request)


def _router() -> Router:
    router = Router("tasks")

    @router.route("GET", "/")
    def list_tasks(request: Request) -> Response:
        return success({"route": "list"})

    @router.route("GET", "/{task_id}")
    def get_task(request: Request, task_id: str) -> Response:
        return success({"route": "get", "id": task_id})

    @router.route("POST", "/{task_id}/cancel")
    def cancel(request: Request, task_id: str) -> Response:
        return success({"route": "cancel", "id": task_id})

    @router.route("GET", "/boom")
    def boom(request: Request) -> Response:
        raise RuntimeError("secret detail")

    return router


@pytest.mark.parametrize(
    ("method", "path", "status", "data"),
    [
        ("GET", "/", 200, {"route": "list"}),
        ("GET", "", 200, {"route": "list"}),
        ("GET", "/abc/", 200, {"route": "get", "id": "abc"}),
        ("POST", "/abc/cancel", 200, {"route": "cancel", "id": "abc"}),
        ("GET", "/api/tasks/abc", 200, {"route": "get", "id": "abc"}),
    ],
)
def test_router_matches_sub_paths(method: str, path: str, status: int, data: Any) -> None:
    with _request(method=method, path=path or "/", content_type=None) as ctx:
        response = handle(ctx.request, _router())
    assert response.status_code == status
    assert _json(response)["data"] == data


def test_router_answers_405_with_allow_and_404_in_the_envelope() -> None:
    with _request(method="DELETE", path="/abc/cancel", content_type=None) as ctx:
        response = handle(ctx.request, _router())
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert _json(response)["error"]["code"] == "method_not_allowed"

    with _request(method="GET", path="/a/b/c", content_type=None) as ctx:
        response = handle(ctx.request, _router())
    assert response.status_code == 404
    assert _json(response)["success"] is False


def test_unhandled_exceptions_become_a_500_without_detail() -> None:
    with _request(method="GET", path="/boom", content_type=None,
                  headers={"X-Request-Id": "req-1"}) as ctx:
        response = handle(ctx.request, _router())
    assert response.status_code == 500
    assert _json(response)["error"] == {"code": "internal", "message": "Internal error",
                                        "details": None}
    assert "secret detail" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] == "req-1"


def test_cors_preflight_and_simple_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
    with _request(method="OPTIONS", path="/abc/cancel", content_type=None,
                  headers=headers) as ctx:
        response = handle(ctx.request, _router())
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]

    with _request(method="GET", path="/", content_type=None,
                  headers={"Origin": "https://evil.example.com"}) as ctx:
        response = handle(ctx.request, _router())
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_cors_any_origin_by_default() -> None:
    with _request(method="GET", path="/", content_type=None,
                  headers={"Origin": "http://localhost:3000"}) as ctx:
        response = handle(ctx.request, _router())
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]


def test_query_string_parameters_are_given_once_unless_declared_repeatable() -> None:
    with _request(method="GET", path="/?status=queued&limit=5", content_type=None) as ctx:
        assert query_params(ctx.request) == {"status": "queued", "limit": "5"}
    with _request(method="GET", path="/?names=a&names=b&asOf=x", content_type=None) as ctx:
        assert query_params(ctx.request, repeatable={"names"}) == {
            "names": ["a", "b"],
            "asOf": "x",
        }
    with _request(method="GET", path="/?names=a", content_type=None) as ctx:
        assert query_params(ctx.request, repeatable={"names"}) == {"names": ["a"]}
    with (
        _request(method="GET", path="/?z=1&z=2&a=1&a=2&names=x", content_type=None) as ctx,
        pytest.raises(errors.BadRequest) as refused,
    ):
        query_params(ctx.request, repeatable={"names"})
    assert refused.value.details == [
        {"field": "a", "message": "repeated", "type": "query"},
        {"field": "z", "message": "repeated", "type": "query"},
    ]
