"""Calling the GraphQL gateway from tests and benchmarks."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.stack import PlatformHandle

TIMEOUT = 60


def graphql(
    stack: PlatformHandle,
    headers: dict[str, str],
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    session: requests.Session | None = None,
) -> requests.Response:
    return (session or stack.http).post(
        stack.url("graphql"),
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=TIMEOUT,
    )


def data_of(response: requests.Response) -> dict[str, Any]:
    """The `data` of a 200 answer without errors."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def error_codes(response: requests.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]
